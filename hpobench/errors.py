"""The one exception for bad input: raised before any work starts, printed as one line."""


class ConfigError(ValueError):
    """A setting is invalid. The message names the field and what is allowed."""
