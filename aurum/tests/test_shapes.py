"""`aurum.serializers.Shape`: one table, from which the schema's serializer and the compiled
builder both come, agreeing on fields, order and values."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from rest_framework import serializers

from aurum.serializers import Out, Shape

POINT = Shape(
    Out("x", serializers.IntegerField()),
    Out("label", serializers.CharField(), ("name",), str.upper),
    Out("sum", serializers.IntegerField(read_only=True), ("x", "y"), lambda x, y: x + y),
    Out("scale", serializers.IntegerField(allow_null=True)),
    given=("scale",),
)


def test_the_builder_gives_the_fields_in_the_tables_order_from_attributes_and_given_values():
    point = SimpleNamespace(x=2, y=3, name="a")

    built = POINT.build(point, 10)

    assert list(built.items()) == [("x", 2), ("label", "A"), ("sum", 5), ("scale", 10)]
    assert POINT.item_sources == ("x", "name", "y")


def test_a_shape_of_rows_reads_keys():
    rows = Shape(Out("b", serializers.CharField(), ("a__b",)), keys=True)

    assert rows.build({"a__b": "v"}) == {"b": "v"}


def test_the_serializer_has_the_tables_fields_in_order_and_serializes_what_the_builder_gives():
    PointOut = POINT.serializer("PointOut", module=__name__, doc="A point.")

    fields = PointOut().fields
    assert list(fields) == ["x", "label", "sum", "scale"]
    assert isinstance(fields["sum"], serializers.SerializerMethodField)  # computed: read-only
    assert PointOut.__name__ == "PointOut" and PointOut.__doc__ == "A point."
    built = POINT.build(SimpleNamespace(x=2, y=3, name="a"), None)
    assert PointOut(built).data == built


def test_the_serializer_may_build_its_items_itself():
    def represent(serializer, item):
        return POINT.build(item, serializer.context["scale"])

    PointOut = POINT.serializer("PointOut", module=__name__, to_representation=represent)
    points = [SimpleNamespace(x=1, y=1, name="p"), SimpleNamespace(x=0, y=5, name="q")]

    data = PointOut(points, many=True, context={"scale": 3}).data

    assert [dict(d) for d in data] == [POINT.build(p, 3) for p in points]


@pytest.mark.parametrize(
    "fields, given",
    [
        ((Out("a", serializers.IntegerField()), Out("a", serializers.IntegerField())), ()),
        ((Out("a", serializers.IntegerField(), ("b", "c")),), ()),
        ((Out("a", serializers.IntegerField(), ("b.c",)),), ()),
        ((Out("a", serializers.IntegerField()),), ("not a name",)),
    ],
)
def test_a_table_that_cannot_be_compiled_is_refused(fields, given):
    with pytest.raises(ValueError):
        Shape(*fields, given=given)
