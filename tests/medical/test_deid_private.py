"""Retain Safe Private Option (PS3.15 E.3.10): every row of Table E.3.10-1, matched by Private Creator."""
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from kit.medical._safe_private import SAFE_PRIVATE, SOURCE
from kit.medical.deid import Deidentifier
from kit.medical.deid_profile import parse_deid_profile

SECRET = "safe private secret, 32 bytes!!!"
_VALUES = {"DS": "1.5", "IS": "4", "CS": "AXIAL", "LO": "value", "LT": "value", "SH": "value", "UI": "1.2.840.10008.1.2",
           "FD": 1.5, "FL": 1.5, "SL": 3, "SS": 3, "UL": 3, "US": 3, "OB": b"\x01\x02"}


def _value(vr, vm):
    if vr == "SQ":
        item = Dataset()
        item.PatientName = "Hidden^InAPrivateItem"  # a standard attribute inside a safe private sequence
        return Sequence([item])
    value = _VALUES[vr]
    n = {"3": 3, "3-4": 3, "4": 4, "6": 6}.get(vm, 1)
    return value if n == 1 or vr in ("OB", "LT") else [value] * n


def _vendor_dataset():
    """One block per (group, creator) as a vendor writes it, every safe row, an unsafe element in each block,
    and a foreign creator reusing a safe raw tag."""
    ds = Dataset()
    ds.PatientName, ds.PatientID = "Doe^John", "P1"
    blocks = {}
    for group, element, creator, vr, vm, _ in SAFE_PRIVATE:
        block = blocks.get((group, creator)) or ds.private_block(group, creator, create=True)
        blocks[(group, creator)] = block
        block.add_new(element, vr or "FD", _value(vr or "FD", vm))
    for (group, creator), block in blocks.items():
        free = next(e for e in range(0xFF, 0, -1) if block.get_tag(e) not in ds)
        block.add_new(free, "LO", "Doe^John")  # an element of the same block that is not in the table
    return ds, blocks


def test_every_row_of_table_e3_10_1():
    assert len(SAFE_PRIVATE) > 100 and "2384a79" in SOURCE
    assert parse_deid_profile("basic,retain_safe_private") == ("retain_safe_private",)
    ds, blocks = _vendor_dataset()
    out, audit = Deidentifier(secret=SECRET, profile="basic,retain_safe_private", check_pixels=False).deidentify(ds)
    missing = []
    for group, element, creator, vr, vm, meaning in SAFE_PRIVATE:
        tag = blocks[(group, creator)].get_tag(element)
        if tag not in out or out[tag].value != ds[tag].value and vr != "SQ":
            missing.append(f"({group:04X},xx{element:02X}) {creator} {meaning}")
        creator_tag = (group << 16) | (tag & 0xFFFF) >> 8
        assert out[creator_tag].value == creator
    assert not missing, "\n".join(missing[:10])
    kept = {int(e.tag) for e in out.iterall() if e.tag.is_private and e.tag.element >= 0x1000}
    assert len(kept) == len(SAFE_PRIVATE)  # the unsafe element of each block is gone
    assert not [e for e in out.iterall() if "Doe" in str(e.value) or "Hidden" in str(e.value)]
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100", "113111"]


def test_safe_private_is_matched_by_creator_not_by_raw_tag():
    ds = Dataset()
    ds.PatientID = "P1"
    ds.private_block(0x0019, "ACME PACS", create=True).add_new(0x23, "DS", "39.375")  # (0019,1023) again
    gems = Dataset()
    gems.PatientID = "P1"
    gems.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(0x23, "DS", "39.375")  # Table Speed
    d = Deidentifier(secret=SECRET, profile="basic,retain_safe_private", check_pixels=False)
    assert not [e for e in d.deidentify(ds)[0] if e.tag.is_private]
    assert d.deidentify(gems)[0][0x00191023].value == "39.375"
    assert not [e for e in Deidentifier(secret=SECRET, check_pixels=False).deidentify(gems)[0] if e.tag.is_private]
