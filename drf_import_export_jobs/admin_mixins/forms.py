"""The forms of the admin's import and export pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..conf import jobs_settings
from ..formats import format_from_filename


class ImportForm(forms.Form):
    """A file to import; its format is taken from the file name unless chosen."""

    file = forms.FileField(label=_("File"))
    file_format = forms.ChoiceField(
        label=_("Format"),
        required=False,
        help_text=_("Leave empty to take it from the file name's extension."),
    )
    skip_invalid_rows = forms.BooleanField(
        label=_("Skip invalid rows"),
        required=False,
        help_text=_("Import the valid rows and skip rows that fail validation."),
    )

    def __init__(self, *args: Any, file_formats: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_formats = file_formats
        choices = [("", _("From the file name"))] + [(name, name) for name in file_formats]
        self.fields["file_format"].choices = choices  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        max_size = int(jobs_settings.MAX_UPLOAD_SIZE)
        if upload.size is not None and upload.size > max_size:
            raise forms.ValidationError(
                _("The file is larger than %(max)s bytes (MAX_UPLOAD_SIZE)."),
                params={"max": max_size},
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is None:
            return data
        name = data.get("file_format") or format_from_filename(upload.name or "")
        accepted = ", ".join(self.file_formats)
        if name is None:
            self.add_error(
                "file_format",
                _("Cannot tell the format from the file name %(name)r; choose one of: %(ok)s.")
                % {"name": upload.name, "ok": accepted},
            )
        elif name not in self.file_formats:
            self.add_error(
                "file_format",
                _("Files of format %(name)r are not accepted here; accepted: %(ok)s.")
                % {"name": name, "ok": accepted},
            )
        else:
            data["file_format"] = name
        return data


class ExportForm(forms.Form):
    """The format and the resource fields of a new export."""

    file_format = forms.ChoiceField(label=_("Format"))
    export_fields = forms.MultipleChoiceField(
        label=_("Fields"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The columns of the file, in the resource's order."),
    )

    def __init__(
        self, *args: Any, file_formats: list[str], field_names: list[str], **kwargs: Any
    ) -> None:
        kwargs.setdefault(
            "initial", {"file_format": file_formats[:1], "export_fields": field_names}
        )
        super().__init__(*args, **kwargs)
        self.fields["file_format"].choices = [(n, n) for n in file_formats]  # type: ignore[attr-defined]
        self.fields["export_fields"].choices = [(n, n) for n in field_names]  # type: ignore[attr-defined]
