"""The yield imagery's index choice says what it skipped, in the report's language."""
import warnings

import pytest

from kit import i18n
from kit.errors import InputDataError
from kit.yieldpred.imagery import _chosen_indices


def test_auto_skips_what_the_bands_do_not_allow_and_says_so():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chosen, skipped = _chosen_indices("auto", ["B04", "B08", "SCL"])
    assert "ndvi" in chosen and "ndmi" in skipped and "B11" in skipped["ndmi"]
    assert any("indices='auto' skipped" in str(w.message) for w in caught)


def test_messages_read_in_french():
    with i18n.using("fr"), pytest.raises(InputDataError, match="aucun indice ne peut être calculé avec les bandes B02"):
        _chosen_indices("auto", ["B02", "SCL"])
    with i18n.using("fr"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, skipped = _chosen_indices("auto", ["B04", "B08", "SCL"])
    assert "absent(s) de la pile" in skipped["ndmi"]
    assert any("a laissé de côté" in str(w.message) for w in caught)
