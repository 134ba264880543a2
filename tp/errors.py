"""The exceptions tp raises. Only the API and Gradio layers turn them into HTTP codes or gr.Error."""


class TpError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(TpError, ValueError):
    """A recipe or setting has an unknown key or a bad value."""


class DataError(TpError, ValueError):
    """A dataset cannot be read or is unusable (missing file, unknown column, one class...)."""


class ModelSourceError(TpError):
    """A model source (Hub id, folder, builtin name) cannot be resolved or loaded."""


class TrainingError(TpError):
    """Training cannot start or continue (e.g. 4-bit training asked for on a CPU)."""


class InputError(TpError, ValueError):
    """A prediction input is unusable (empty text, too many items, unknown model name)."""


class PublishError(TpError):
    """Publishing to or downloading from the Hub failed (token, rights, network, card metadata)."""


class RejectedVariantError(TpError):
    """A compressed variant failed its accuracy gate: it is served or published only when forced."""
