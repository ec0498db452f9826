"""The vision report's alert line agrees in number, in English and in French (0 and 1 singular there)."""
import pandas as pd

from kit import i18n
from kit.vision.wording import alerts_line


def _alerts(frames: int, people: int, trucks: int) -> pd.DataFrame:
    rows = [("person in restricted zone", k % max(people, 1)) for k in range(frames)]
    rows += [("truck over max_dwell_s", 100 + k) for k in range(trucks)]
    return pd.DataFrame(rows, columns=["alert", "track_id"])


def test_english_counts_agree():
    assert alerts_line(_alerts(12, 2, 0)) == ("alerts: 12 person-frames in restricted zones, 2 people; "
                                              "0 trucks held over max_dwell_s at a gate")
    assert "1 person; 1 truck held" in alerts_line(_alerts(3, 1, 1))


def test_french_zero_and_one_are_singular():
    with i18n.using("fr"):
        none, one, two = (alerts_line(_alerts(n, n, n)) for n in (0, 1, 2))
    assert "0 image-personne en zone interdite, 0 personne ; 0 camion retenu" in none
    assert "1 personne ; 1 camion retenu" in one
    assert "2 images-personnes en zone interdite, 2 personnes ; 2 camions retenus" in two
