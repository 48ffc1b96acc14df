"""The fast cell converters give what the widget's own ``clean()`` gives."""

from __future__ import annotations

from typing import Any

import pytest
from import_export import widgets

from drf_import_export_jobs.pipeline.imports.cells import converter_for

ODD_CELLS = [
    "",
    " ",
    None,
    0,
    1,
    True,
    "0",
    "1",
    "12",
    "-3",
    "+4",
    "1.50",
    "1,5",
    "1e3",
    "٣",
    "\uff11\uff12",  # fullwidth digits
    "nan",
    "2020-01-02",
    "2020-1-02",
    "2020-01-2",
    "2020-13-01",
    "2020-02-30",
    "0000-01-01",
    "+020-01-01",
    "2020--1-01",
    "2020-0\uff11-01",
    "20200102",
    "2020-W01-1",
    "2020-01-02 03:04:05",
    "2020-01-02T03:04:05",
    "2020-01-02 24:00:00",
    "2020-01-02 3:04:05",
    "05/06/2021",
    "yes",
    "TRUE",
    "false",
    "none",
    "NULL",
]

WIDGETS = [
    widgets.Widget(),
    widgets.CharWidget(),
    widgets.IntegerWidget(),
    widgets.DecimalWidget(),
    widgets.BooleanWidget(),
    widgets.DateWidget(),
    widgets.DateTimeWidget(),
]


def outcome(clean: Any, value: Any) -> tuple[str, Any]:
    try:
        result = clean(value)
    except Exception as exc:  # the same exception type and message
        return type(exc).__name__, str(exc)
    return type(result).__name__, repr(result)  # repr: Decimal("NaN") != itself


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
def test_a_converter_cleans_every_cell_as_its_widget_does(widget: widgets.Widget) -> None:
    convert = converter_for(widget)
    assert convert is not None
    for value in ODD_CELLS:
        expected = outcome(widget.clean, value)
        actual = outcome(convert, value)
        assert actual == expected, value


def test_subclasses_and_custom_widgets_have_no_converter() -> None:
    class Upper(widgets.CharWidget):
        pass

    assert converter_for(Upper()) is None
    assert converter_for(widgets.ForeignKeyWidget(widgets.Widget)) is None
