"""Errors GateScope raises for bad input: each carries a message meant for a person."""


class GateScopeError(Exception):
    """Base class: the message says what was wrong and, where it helps, what to do."""


class InputError(GateScopeError):
    """A review (or other user-typed input) that cannot be used as it is."""


class DataError(GateScopeError):
    """A dataset file that cannot be read: the message names the file, line and problem."""


class CheckpointError(GateScopeError):
    """A model directory that is missing, partial or corrupt: the message names the file."""
