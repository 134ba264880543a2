// A view's action (a request, usually): busy while it runs, its error kept for the user, cancellable.
import { onBeforeUnmount, ref, shallowRef } from 'vue'
import type { MessageKey, Params } from './i18n'

/** A mistake the client catches before asking the server (shown translated). */
export class UserError extends Error {
  constructor(
    readonly key: MessageKey,
    readonly params: Params = {},
  ) {
    super(key)
    this.name = 'UserError'
  }
}

export function useAction<Args extends unknown[], Result>(
  action: (signal: AbortSignal, ...args: Args) => Promise<Result>,
) {
  const busy = ref(false)
  const error = shallowRef<unknown>(null)
  let controller: AbortController | null = null

  async function run(...args: Args): Promise<Result | undefined> {
    if (busy.value) return undefined // one at a time: a double Ctrl+Enter sends one request
    controller = new AbortController()
    busy.value = true
    error.value = null
    try {
      return await action(controller.signal, ...args)
    } catch (caught) {
      if (!controller.signal.aborted) error.value = caught
      return undefined
    } finally {
      busy.value = false
    }
  }

  function cancel(): void {
    controller?.abort()
  }

  onBeforeUnmount(cancel)
  return { busy, error, run, cancel }
}
