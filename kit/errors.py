"""Errors that carry a one-line message naming the problem and the fix."""


class KitError(Exception):
    """A problem with the user's input or environment, not a bug in kit.

    The message is one line: what is wrong, then what to do about it. The CLI
    prints it on stderr and exits with status 2.
    """


class ParameterError(KitError, ValueError):
    """A notebook parameter has an unknown name, a wrong type or a bad value."""


class DeviceUnavailable(KitError, RuntimeError):
    """``device="cuda"`` was asked for but no usable GPU is present."""


class InputMissing(ParameterError):
    """A path parameter names a file or folder that does not exist (yet: today's file may not have arrived)."""


class InputDataError(KitError, ValueError):
    """An input file is missing, unreadable, or not in the documented format."""
