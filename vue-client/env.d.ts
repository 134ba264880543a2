/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The server's base URL (where /api/v1 lives), set at build time; empty: the server that serves the page. */
  readonly VITE_API_BASE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
