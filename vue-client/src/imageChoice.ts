// The image a view works on: chosen from files (checked against the model's limits) or from its examples.
import { computed, shallowRef, type Ref } from 'vue'
import type { ImageExample, ModelPublic } from './api'
import { exampleImage, imageLimits, loadImage, type LoadedImage } from './image'

export function useImageChoice(model: Ref<ModelPublic>, error: Ref<unknown>) {
  const image = shallowRef<LoadedImage | null>(null)
  const limits = computed(() => imageLimits(model.value))
  const examples = computed(() => model.value.examples)

  /** Whether the first file is an image the server will take; if not, `error` says why. */
  async function chooseFile(files: File[]): Promise<boolean> {
    error.value = null
    try {
      image.value = await loadImage(files[0], limits.value)
      return true
    } catch (caught) {
      image.value = null
      error.value = caught
      return false
    }
  }

  function chooseExample(example: ImageExample): void {
    error.value = null
    image.value = exampleImage(example)
  }

  return { image, limits, examples, chooseFile, chooseExample }
}
