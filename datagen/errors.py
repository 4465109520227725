"""One exception hierarchy; every error carries a message meant for the person at the terminal."""

from __future__ import annotations

from datagen.redact import redact


class DatagenError(Exception):
    """Base for errors the CLI prints without a traceback. `exit_code` is what the process returns.
    Message and hint are redacted when made: a server's or a model's words may quote the key."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message, hint = redact(message), (redact(hint) if hint else hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message

    def __reduce__(self) -> tuple:
        """Pickled whole (message, hint and all), so an error raised in a Dask worker reads the same."""
        return (_rebuilt, (type(self), self.__dict__))


def _rebuilt(cls: type[DatagenError], state: dict) -> DatagenError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class InputError(DatagenError):
    """Bad input from the user: missing file, not JSON, unwritable folder."""

    exit_code = 2


class SchemaError(InputError):
    """A schema that does not pass `dsl.check`; carries every issue found."""

    def __init__(self, issues: list, message: str | None = None) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        lines = [message or f"schema has {len(errors)} error(s):"]
        lines += [f"  {i}" for i in errors]
        super().__init__("\n".join(lines))


class GenerationError(DatagenError):
    """The engine could not produce the data the schema asks for."""


class ValidationError(DatagenError):
    """The validator could not run (not: the data failed a check — that is a report, not an error)."""

    exit_code = 2


class LLMError(DatagenError):
    """The language model endpoint failed or kept answering nonsense."""

    exit_code = 2
