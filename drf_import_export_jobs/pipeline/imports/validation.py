"""``Model.full_clean()`` for the bulk engine, without per-row queries.

:class:`ChunkValidator` gives each instance the errors ``full_clean(exclude=...)``
would: field by field (``clean_fields``), the model's ``clean()``, then the
unique checks. Three things differ in how, never in the result:

* a field whose value already has the field's Python type and passes the
  field's validators is accepted without ``Field.clean()`` (which would
  return it unchanged); anything else goes through ``Field.clean()``, so the
  messages are Django's;
* a foreign key is looked up in the chunk's set of known ids (filled by the
  chunk's foreign key queries), not with one query per row;
* unique fields are checked against the chunk's map of values to the row
  holding them (one query per field per chunk, kept up to date as rows are
  accepted), not with one query per row.

``unique_together`` and ``Meta.constraints`` are checked by Django itself,
one query per row and check (their rows of the same chunk are not written
yet: a clash between two of them is the database's to refuse, and the chunk
then runs row by row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models

Check = Callable[[Any], bool]

_TYPES: dict[str, type] = {
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "EmailField": str,
    "URLField": str,
    "DecimalField": Decimal,
    "DateField": dt.date,
    "DateTimeField": dt.datetime,
    "BooleanField": bool,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
}
MISSING = object()


def _limits(validators: list[Any]) -> tuple[Any, Any, Any, list[Any]]:
    """Split the plain length and range validators (checked inline) from the
    others (called)."""
    longest = low = high = None
    others = []
    for validator in validators:
        limit = getattr(validator, "limit_value", None)
        if callable(limit) or limit is None:
            others.append(validator)
        elif type(validator) is MaxLengthValidator:
            longest = limit if longest is None else min(longest, limit)
        elif type(validator) is MinValueValidator:
            low = limit if low is None else max(low, limit)
        elif type(validator) is MaxValueValidator:
            high = limit if high is None else min(high, limit)
        else:
            others.append(validator)
    return longest, low, high, others


def field_check(model_field: models.Field[Any, Any]) -> Check | None:
    """A test that ``Field.clean(value)`` would return ``value`` unchanged, or
    None when only ``Field.clean()`` can tell."""
    kind = _TYPES.get(model_field.get_internal_type())
    if kind is None or model_field.choices or not model_field.editable or model_field.is_relation:
        return None
    longest, low, high, validators = _limits(list(model_field.validators))
    aware = bool(settings.USE_TZ)
    if kind is str and not validators:
        if longest is None:
            return lambda value: type(value) is str and value != ""
        return lambda value: type(value) is str and value != "" and len(value) <= longest
    if kind is int and not validators and longest is None:
        lowest = float("-inf") if low is None else low
        highest = float("inf") if high is None else high
        return lambda value: type(value) is int and lowest <= value <= highest
    if kind in (bool, dt.date) and not validators and longest is low is high is None:
        return lambda value: type(value) is kind

    def check(value: Any) -> bool:
        if type(value) is not kind or value == "":
            return False
        if longest is not None and len(value) > longest:  # type: ignore[arg-type]
            return False
        if (low is not None and value < low) or (high is not None and value > high):
            return False
        if kind is Decimal and not value.is_finite():  # type: ignore[attr-defined]
            return False
        if kind is dt.datetime and (value.tzinfo is not None) != aware:  # type: ignore[attr-defined]
            return False
        try:
            for validator in validators:
                validator(value)
        except ValidationError:
            return False
        return True

    return check


class ChunkValidator:
    """``full_clean()`` for instances of ``model`` within one chunk's state."""

    def __init__(
        self,
        model: type[models.Model],
        alias: str,
        empty_is_null: bool,
        unique_fields: list[Any],
    ) -> None:
        self.model = model
        self.alias = alias
        self.empty_is_null = empty_is_null
        self.fields = [(f, field_check(f)) for f in model._meta.concrete_fields if not f.generated]
        self.unique_fields = unique_fields
        self.custom_clean = model.clean is not models.Model.clean
        self.together = bool(model._meta.unique_together)
        self.constraints = bool(model._meta.constraints)
        self.queries = 0  # per-row queries made (the chunk then cannot be replayed)

    def errors(
        self,
        instance: models.Model,
        token: Any,
        errors: dict[str, Any],
        taken: dict[str, dict[Any, Any]],
        known_fk: dict[str, set[Any]],
    ) -> dict[str, Any]:
        """The error dict ``validate_instance`` would raise (empty: valid).

        ``errors`` holds the widgets' errors; ``taken`` maps unique values to
        the token of the row holding them; ``known_fk`` the ids known to exist.
        """
        exclude = set(errors)
        data = instance.__dict__
        field_errors: dict[str, Any] = {}
        for model_field, check in self.fields:
            if model_field.name in exclude:
                continue
            raw = (
                data[model_field.attname]
                if model_field.attname in data
                else getattr(instance, model_field.attname)
            )
            if model_field.blank and raw in model_field.empty_values:
                continue
            if check is not None and check(raw):
                continue
            if (
                model_field.is_relation
                and type(raw) is int
                and not model_field.validators
                and raw in known_fk.get(model_field.name, ())
            ):
                continue
            try:
                if model_field.is_relation:
                    value = self._clean_fk(model_field, raw, instance, known_fk)
                else:
                    value = model_field.clean(raw, instance)
                setattr(instance, model_field.attname, value)
            except ValidationError as exc:
                field_errors[model_field.name] = exc.error_list
        if field_errors:
            errors = ValidationError(field_errors).update_error_dict(errors)
        if self.custom_clean:
            try:
                instance.clean()
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        for name in errors:
            if name != NON_FIELD_ERRORS:
                exclude.add(name)
        unique_errors = self._unique_errors(instance, token, exclude, taken)
        if self.together:
            unique_errors.update(self._together_errors(instance, exclude))
        if unique_errors:
            errors = ValidationError(unique_errors).update_error_dict(errors)
        if self.constraints:
            for name in errors:
                if name != NON_FIELD_ERRORS:
                    exclude.add(name)
            self.queries += 1
            try:
                instance.validate_constraints(exclude=exclude)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        return errors

    def _together_errors(self, instance: models.Model, exclude: set[str]) -> dict[str, Any]:
        """What ``validate_unique()`` says of the ``unique_together`` sets."""
        checks, _dates = instance._get_unique_checks(exclude=exclude)  # type: ignore[attr-defined]
        together = [(kind, names) for kind, names in checks if len(names) > 1]
        if not together:
            return {}
        self.queries += 1
        return dict(instance._perform_unique_checks(together))  # type: ignore[attr-defined]

    def _unique_errors(
        self,
        instance: models.Model,
        token: Any,
        exclude: set[str],
        taken: dict[str, dict[Any, Any]],
    ) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for model_field in self.unique_fields:
            if model_field.name in exclude:
                continue
            value = getattr(instance, model_field.attname)
            if value is None or (value == "" and self.empty_is_null):
                continue
            if model_field.primary_key and not instance._state.adding:
                continue
            values = taken.setdefault(model_field.name, {})
            holder = values.get(value, MISSING)
            if holder is MISSING:
                self.queries += 1
                pk = (
                    self.model._default_manager.filter(**{model_field.name: value})
                    .values_list("pk", flat=True)
                    .first()
                )
                holder = values[value] = None if pk is None else ("pk", pk)
            if holder is not None and holder != token:
                found.setdefault(model_field.name, []).append(
                    instance.unique_error_message(self.model, (model_field.name,))
                )
        return found

    def _clean_fk(
        self,
        model_field: Any,
        raw: Any,
        instance: models.Model,
        known_fk: dict[str, set[Any]],
    ) -> Any:
        """``ForeignKey.clean`` with the existence check answered per chunk."""
        value = model_field.to_python(raw)
        models.Field.validate(model_field, value, instance)
        model_field.run_validators(value)
        if value is None or model_field.remote_field.parent_link:
            return value
        known = known_fk.setdefault(model_field.name, set())
        if value not in known:
            self.queries += 1
            remote = model_field.remote_field
            exists = (
                remote.model._base_manager.using(self.alias)
                .filter(**{remote.field_name: value})
                .exists()
            )
            if not exists:
                raise ValidationError(
                    model_field.error_messages["invalid"],
                    code="invalid",
                    params={
                        "model": remote.model._meta.verbose_name,
                        "pk": value,
                        "field": remote.field_name,
                        "value": value,
                    },
                )
            known.add(value)
        return value
