"""The converters that check and type each configuration value, and the declarations that attach them to fields.

A converter takes the raw YAML (or environment) value and returns the typed value, or raises
ValueError saying what it expected; :func:`typed` turns that into a ConfigError naming the field.

Each setting is declared once, as a dataclass field whose metadata says how it is read:

- :func:`setting`: a scalar key of the file, checked by its converter, overridable from the
  environment unless ``env=False``;
- :func:`required`: the same, without a default (a feed's ``id``, ``url``, ``source``);
- a field whose default is an instance of another settings dataclass is a nested section, whose
  keys are that dataclass's fields;
- :func:`compound`: a key parsed by its own code (``feeds``, ``rules``, ``topics``);
- :func:`secret`: not a key of the file at all, filled only from the named environment variable.

The loader and the documentation check both read the declarations back with :func:`file_keys`,
:func:`converters`, :func:`env_variables`, :func:`sections` and :func:`secret_variables`, so the
accepted keys, their order in messages and the environment variables are never listed twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, field, fields, is_dataclass, replace
from typing import Any, TypeVar

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError

__all__ = [
    "typed", "as_flag", "as_text", "public_address", "country_code", "port_number", "positive_int", "count", "one_of",
    "ner_mode", "index_name", "positive_seconds", "registry_name", "optional_duration", "optional_country",
    "setting", "required", "compound", "secret",
    "file_keys", "required_keys", "converters", "env_variables", "sections", "secret_variables",
    "convert_present", "parse_section", "refuse_unknown_keys", "fill_secrets",
]

T = TypeVar("T")

_CONVERT = "newsmon.convert"  # the converter of a scalar key
_ENV = "newsmon.env"  # True when the key can be overridden from the environment
_REQUIRED = "newsmon.required"  # True when the key has no default
_COMPOUND = "newsmon.compound"  # True for a key parsed by its own code
_SECRET_ENV = "newsmon.secret_env"  # the variable a secret is read from (never a key of the file)


def typed(convert: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


# -- converters ---------------------------------------------------------------------------------------------------

def positive_int(value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def count(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected 0 or more, got {value!r}")
    return number


def port_number(value: Any) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"expected a TCP port (0 = off), got {value!r}")
    return number


def public_address(value: Any) -> str:
    """An http(s) address without a trailing slash, or "" (none)."""
    text = as_text(value).strip().rstrip("/")
    if text and not re.match(r"(?i)^https?://[^\s/?#]+(/[^\s?#]*)?$", text):
        raise ValueError(f"expected an http(s) address such as https://newsmon.example.org, got {value!r}")
    return text


def as_text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


def as_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def country_code(value: Any) -> str:
    """An ISO 3166 alpha-2 code, upper-cased: "pk" -> "PK"."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"expected ISO 3166 alpha-2 codes such as PK or US, got {value!r}")
    return code


def one_of(*allowed: str) -> Callable[[Any], str]:
    """A converter accepting one of ``allowed`` in any case, returned upper-cased."""
    def convert(value: Any) -> str:
        text = as_text(value).upper()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return text
    return convert


def ner_mode(value: Any) -> str:
    text = as_text(value).lower()
    if text not in ("relevant", "all", "off"):
        raise ValueError(f"expected relevant, all or off, got {value!r}")
    return text


def index_name(value: Any) -> str:
    text = as_text(value)
    if not text or text != text.lower() or text[0] in "-_+" or any(c in text for c in ' \\/*?"<>|,#:'):
        raise ValueError(f"expected a lower-case Elasticsearch index name, got {value!r}")
    return text


def positive_seconds(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


def registry_name(value: Any) -> str:
    """The name an implementation is registered under: lower-case letters, digits and ``_``, from a letter."""
    text = as_text(value)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", text):
        raise ValueError(f"expected a lower-case name such as hybrid, got {value!r}")
    return text


def optional_duration(value: Any) -> float | None:
    """A duration, or None (unset) for a null value."""
    return None if value is None else parse_duration(value)


def optional_country(value: Any) -> str:
    """A country code, or "" (none) for a null or empty value."""
    return "" if value in (None, "") else country_code(value)


# -- declarations -------------------------------------------------------------------------------------------------

def setting(default: T, convert: Callable[[Any], T], *, env: bool = True) -> T:
    """A scalar key with its default and converter; ``env=False`` when no variable may override it."""
    return field(default=default, metadata={_CONVERT: convert, _ENV: env})


def required(convert: Callable[[Any], T]) -> T:
    """A scalar key that must be given (no default, no environment variable)."""
    return field(metadata={_CONVERT: convert, _ENV: False, _REQUIRED: True})


def compound(default: Any = (), *, factory: Callable[[], Any] | None = None) -> Any:
    """A key parsed by its own code rather than by a converter (a list of feeds, the rules, the topics)."""
    if factory is not None:
        return field(default_factory=factory, metadata={_COMPOUND: True})
    return field(default=default, metadata={_COMPOUND: True})


def secret(variable: str) -> str:
    """A credential read only from the environment ``variable``: refused in the file, hidden from repr."""
    return field(default="", repr=False, metadata={_SECRET_ENV: variable})


# -- reading the declarations back --------------------------------------------------------------------------------

def _declared(cls: type) -> tuple[Field[Any], ...]:
    return fields(cls)


def _is_section(f: Field[Any]) -> bool:
    return is_dataclass(f.default) and not isinstance(f.default, type)


def file_keys(cls: type) -> tuple[str, ...]:
    """The keys of ``cls`` accepted from the file, in declaration order (secrets and internals excluded)."""
    return tuple(f.name for f in _declared(cls) if _CONVERT in f.metadata or _COMPOUND in f.metadata
                 or _is_section(f))


def required_keys(cls: type) -> tuple[str, ...]:
    """The keys of ``cls`` that must be given, in declaration order."""
    return tuple(f.name for f in _declared(cls) if f.metadata.get(_REQUIRED))


def converters(cls: type) -> dict[str, Callable[[Any], Any]]:
    """The scalar keys of ``cls`` and their converters, in declaration order."""
    return {f.name: f.metadata[_CONVERT] for f in _declared(cls) if _CONVERT in f.metadata}


def env_variables(cls: type, prefix: str) -> dict[str, str]:
    """The scalar keys of ``cls`` that the environment may override, each with its variable ``<prefix><KEY>``."""
    return {f.name: f"{prefix}{f.name.upper()}" for f in _declared(cls) if f.metadata.get(_ENV)}


def sections(cls: type) -> dict[str, type]:
    """The nested sections of ``cls``: key -> the dataclass that declares the section's keys."""
    return {f.name: type(f.default) for f in _declared(cls) if _is_section(f)}


def secret_variables(cls: type) -> dict[str, str]:
    """The secrets of ``cls``: field -> the environment variable it is read from."""
    return {f.name: f.metadata[_SECRET_ENV] for f in _declared(cls) if _SECRET_ENV in f.metadata}


def convert_present(cls: type, raw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Every scalar key of ``cls`` present in ``raw``, converted; an error names ``<prefix><key>``."""
    return {key: typed(convert, raw[key], f"{prefix}{key}") for key, convert in converters(cls).items() if key in raw}


def parse_section(cls: type, raw: Any, where: str) -> Any:
    """An instance of ``cls`` from the mapping ``raw`` (None = all defaults); errors name ``<where>.<key>``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    refuse_unknown_keys(raw, file_keys(cls), where)
    return cls(**convert_present(cls, raw, f"{where}."))


def refuse_unknown_keys(raw: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    """A typo never passes silently: the first key of ``raw`` (alphabetically) not in ``known`` is a
    ConfigError naming ``<where>.<key>`` and the known keys."""
    known = tuple(known)
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(known)})")


def fill_secrets(value: T, env: Mapping[str, str]) -> T:
    """``value`` (a settings dataclass) with each secret taken from its environment variable ("" when unset)."""
    found = {name: env.get(variable, "") for name, variable in secret_variables(type(value)).items()}
    return replace(value, **found) if found else value  # type: ignore[type-var]
