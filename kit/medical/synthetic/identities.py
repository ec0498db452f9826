"""Fake people, sites and UIDs of the synthetic radiology exports.

Names are common Moroccan first and family names; sites are fictitious
clinics in five cities. UIDs use pydicom's registered example root. All
draws come from the generator passed in, so a seed fixes them.
"""
from __future__ import annotations

__all__ = ["SITES", "fake_person", "fake_uid"]

SITES = (
    ("Clinique Atlas Imagerie", "Bd Zerktouni, Casablanca", "CASA"),
    ("Centre Radiologique Bouregreg", "Av. Mohammed V, Rabat", "RBT"),
    ("Polyclinique du Saiss", "Route d'Imouzzer, Fes", "FES"),
    ("Clinique de la Palmeraie", "Av. Allal El Fassi, Marrakech", "RAK"),
    ("Centre d'Imagerie du Detroit", "Bd Pasteur, Tanger", "TNG"),
)

FIRST_NAMES_F = ("Fatima", "Khadija", "Aicha", "Meryem", "Salma", "Nadia", "Hanane", "Zineb", "Imane", "Latifa",
                 "Samira", "Houda", "Souad", "Rajae", "Naima", "Ghita")
FIRST_NAMES_M = ("Mohamed", "Ahmed", "Youssef", "Omar", "Hassan", "Rachid", "Karim", "Mustapha", "Abdelaziz", "Said",
                 "Hamza", "Anas", "Driss", "Khalid", "Mehdi", "Ayoub")
FAMILY_NAMES = ("Alaoui", "Benjelloun", "Bennani", "Tazi", "El Idrissi", "Berrada", "Chraibi", "Fassi", "Lahlou",
                "Amrani", "Ouazzani", "Kettani", "Bouzidi", "El Mansouri", "Ziani", "Naciri", "Sqalli", "Benkirane",
                "Haddad", "Raji")

_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's registered root, used for example UIDs


def fake_person(rng, sex: str) -> str:
    """A DICOM person name ``Family^First`` for ``sex`` ("F" or "M")."""
    first = rng.choice(FIRST_NAMES_F if sex == "F" else FIRST_NAMES_M)
    return f"{rng.choice(FAMILY_NAMES)}^{first}"


def fake_uid(rng) -> str:
    """A UID under pydicom's example root."""
    return _ROOT + str(int(rng.integers(10**15, 10**16))) + "." + str(int(rng.integers(10**8, 10**9)))
