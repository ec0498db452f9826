"""Give notebooks 00, 02 and 03 their French cells and the code cells that speak the report's language (idempotent).

    python tools/nb_french.py notebooks/00_quickstart.ipynb notebooks/02_irrigation_planning.ipynb notebooks/03_leak_detection.ipynb
    python tools/nb_french.py --copies notebooks/00_quickstart.ipynb   # notebooks/fr/: the French run nbval checks

Each English markdown cell is tagged ``lang-en`` and followed by its French
twin tagged ``lang-fr`` (id ``<id>-fr``): one source, the runner keeps one
language (:func:`kit.i18n.select_cells`). The parameters cell gets ``lang``;
code cells that printed English sentences call the kit's translated helpers.
Running it again changes nothing; changing a French text here and running it
again updates that cell.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

NB, NN = "\u00a0", "\u202f"  # no-break space before a colon; narrow no-break space before ; and in numbers
LANG_LINE = 'lang = "en"  # language of the narrative, plots, shown tables and messages: en or fr'

IRRIGATION_FR = {
    "cell-00": f"""# Planification de l’irrigation{NB}: ET0 FAO-56, bilan hydrique du sol et calendriers sous quota

Pour les agronomes des offices régionaux de mise en valeur agricole (ORMVA) et les gestionnaires d’exploitation qui doivent répartir une dotation en eau de plus en plus réduite sur de nombreuses parcelles. Le notebook calcule l’évapotranspiration de référence ET0 selon la FAO-56, tient un bilan hydrique journalier du sol pour toutes les parcelles à la fois, planifie l’irrigation selon la stratégie choisie et la compare à un calendrier fixe, en eau et en rendement attendu (réponse du rendement à l’eau FAO-33, coefficient Ky).

**Entrées** (par défaut{NB}: un site intégré, généré ici){NB}: un CSV météo (`date, tmin_c, tmax_c` et, en option, humidité, vent, rayonnement, pluie, prévisions), un fichier NASA POWER ou un NetCDF horaire ERA5(-Land) (avec des parcelles en grille, chaque maille ERA5{NB}: chaque pixel sur la plus proche) et une table des parcelles (`field_id, crop, planting_date, area_ha, soil`), ou un fichier de parcelles en grille (NetCDF ou GeoTIFF avec `crop`, `soil`, `planting_date` par pixel) pour planifier chaque pixel d’un périmètre irrigué. Les formats sont décrits dans `datasets/irrigation/README.md`.

**Sorties** dans `output_dir`{NB}: `schedule.csv` (`field_id, date, depth_mm, volume_m3`), `water_balance.nc` (par parcelle et par jour), `fields_summary.csv`, `strategies.csv` et les chiffres clés dans `metrics.json`{NN}; pour des parcelles en grille, aussi `seasonal_irrigation_mm.tif` et `relative_yield.tif` (GeoTIFF, système de coordonnées conservé) et une carte de l’irrigation saisonnière. Ces fichiers gardent leurs noms de colonnes anglais, tels que les documente la fiche du jeu de données{NB}: d’autres systèmes les lisent.""",
    "cell-03": "## Entrées",
    "cell-05": f"""## Évapotranspiration de référence

ET0 de Penman-Monteith FAO-56 à partir des colonnes dont dispose le fichier{NN}; en cas de données manquantes, la procédure de la FAO-56 elle-même (rayonnement estimé à partir de l’amplitude thermique, pression de vapeur à partir de Tmin, vent de 2{NN}m/s). Les points noirs marquent les jours estimés. Avec un fichier ERA5 et des parcelles en grille, chaque pixel est planifié sur sa propre maille ERA5{NN}; la figure montre le pixel du centre du périmètre.""",
    "cell-07": f"""## Les plans de chaque stratégie

Les mêmes parcelles et la même météo sous chaque stratégie{NB}: irrigation au seuil de la réserve facilement utilisable (`mad`{NB}: remplissage dès que l’épuisement atteint la RFU), un `calendar` fixe (40{NN}mm le 1er et le 16 du mois), un `interval` fixe, une irrigation `deficit` (déficitaire) et le `quota` saisonnier réparti entre les parcelles pour maximiser la production attendue. Le tableau compare, pour chaque stratégie, l’eau consommée (besoin brut, m³), le rendement relatif, les jours de stress et le nombre d’irrigations, puis l’écart avec le calendrier fixe.""",
    "cell-10": f"""## Le plan retenu, parcelle par parcelle

Épuisement de la zone racinaire (en bleu) face à la réserve facilement utilisable (RFU, en tirets) et à la réserve utile (RU){NB}: au-delà de la RFU, la culture est en stress hydrique. La RFU est la fraction p de la RU que la culture extrait sans stress (p selon la FAO-56, tableau 22){NN}; l’évapotranspiration de la culture est ET0 multipliée par le coefficient cultural Kc. Les barres vertes sont les irrigations, c’est-à-dire le besoin net d’irrigation apporté.""",
    "cell-12": f"""## Carte du périmètre (parcelles en grille)

Avec un fichier de parcelles en grille, chaque pixel est planifié comme une parcelle{NB}: irrigation saisonnière et rendement relatif attendu du plan retenu, pixel par pixel (également écrits en GeoTIFF dans le système de coordonnées de l’entrée). Essayez avec le périmètre intégré{NB}: `kit.agro.synthetic.write_perimeter("perimeter.nc")`, puis `fields = "perimeter.nc"`.""",
    "cell-14": f"""## Résultats pour d’autres systèmes

Les fichiers de `output_dir` gardent leurs noms de colonnes anglais documentés{NB}: `schedule.csv` a les colonnes `field_id, date, depth_mm, volume_m3` (parcelle, date, dose brute en mm, volume en m³){NN}; le tableau ci-dessous en montre les premières lignes, traduites.""",
    "exercise-00": f"""## À vous de jouer

Trois exercices. Chaque cellule marquée **exercice** est à compléter{NN}; la cellule suivante vérifie votre réponse et dit, en clair, si elle est juste. (`kit teach student irrigation_planning --lang fr --out DOSSIER` écrit la version sans les réponses.)

### Exercice 1{NB}: ajouter une culture

Le sorgho grain n’est pas dans la table des cultures du kit. Renseignez ses paramètres FAO-56 pour une région aride, semé en mai{NB}: durées des phases d’après le **tableau 11**, Kc initial/mi-saison/fin et hauteur maximale d’après le **tableau 12**, coefficient cultural de base Kcb d’après le **tableau 17**, profondeur racinaire maximale et fraction d’épuisement p d’après le **tableau 22**, et le coefficient de réponse du rendement Ky de la FAO-33 (FAO-56, **tableau 24**). Là où le document donne une fourchette, toute valeur comprise dedans est juste.""",
    "exercise-03": f"""### Exercice 2{NB}: que fait économiser le quota{NN}?

À partir du tableau des stratégies `table` ci-dessus, calculez l’eau que le plan `quota` économise par rapport au plan `mad`, en m³ (`saving_m3`) et en pourcentage de l’eau du plan RFU (`saving_pct`).""",
    "exercise-06": f"""### Exercice 3{NB}: un seuil d’épuisement plus strict

Par défaut, la stratégie `mad` irrigue quand l’épuisement atteint la RFU (p × RU, environ la moitié de la RU). Planifiez de nouveau pour que l’irrigation commence à 30{NN}% de la RU{NB}: `exercises.plan_one(fields_table, weather_table, p, "mad", ...)` transmet ses arguments nommés à `kit.agro.schedule`{NN}; regardez son option `mad_fraction`. Avant de lancer la vérification, devinez{NB}: plus ou moins d’irrigations{NN}?""",
}

IRRIGATION_CODE = {
    "cell-06": ('print(et0_table.loc[p.season_start:p.season_end, "method"].value_counts().to_string())',
                "print(nbk.et0_methods(et0_table, p.season_start, p.season_end))"),
    "cell-08": ('    print(f"{partial} fields have a crop season reaching outside the planned window; their totals cover the planned days only")\nnbk.rounded(table)',
                "    print(nbk.partial_note(partial))\nnbk.shown_strategies(table)  # strategies.csv holds the same table, English headers"),
    "cell-13": ('    print("Fields are a table: give a gridded fields file (NetCDF or GeoTIFF, see the dataset card) for a map.")',
                "    print(nbk.no_map_note())"),
    "cell-15": ("plan.table.head()", "nbk.shown_schedule(plan.table)  # schedule.csv keeps field_id, date, depth_mm, volume_m3"),
}

QUICKSTART_FR = {
    "cell-00": f"""# Démarrage rapide{NB}: vérifier le kit sur cette machine

Ce notebook montre la boucle que suit chaque notebook sectoriel, sur une petite scène générée ici (rien n’est téléchargé){NB}:

1. les paramètres sont vérifiés avant tout calcul{NN};
2. le périphérique de calcul est choisi (`auto` n’utilise un GPU que s’il est réellement présent){NN};
3. un indice spectral (NDVI) est calculé sur ce périphérique par l’API des tableaux (array API){NN};
4. les résultats exploitables par un programme arrivent dans `output_dir`{NB}: `ndvi.tif` (GeoTIFF), `fields.csv` et les chiffres clés dans `metrics.json`, avec leurs noms de colonnes anglais documentés{NN};
5. une carte, plus parlante qu’un tableau.

Lancez-le depuis JupyterLab, ou depuis le terminal avec `kit run quickstart --lang fr -p size 256`.""",
    "cell-03": "## Où le calcul s’exécute",
    "cell-05": f"""## La scène intégrée et son NDVI

Une scène synthétique à 20{NN}m de la plaine du Saïs{NB}: des parcelles à différents stades de croissance, un réservoir et un village. Le NDVI = (PIR − Rouge) / (PIR + Rouge) est calculé sur le périphérique choisi{NN}; le résultat revient avec ses coordonnées et son système de coordonnées.""",
    "cell-08": """## Chiffres clés

Enregistrés dans `metrics.json`, pour qu’une exécution planifiée les transmette à d’autres systèmes.""",
}

QUICKSTART_CODE = {
    "cell-04": ('print(f"device: {backend.device} ({backend.reason})")', "print(quickstart.device_line(backend))"),
    "cell-06": ('print(f"{p.size} x {p.size} pixels, {len(fields)} fields, CRS {kit.raster.georef.get_crs(ndvi)}")',
                "print(quickstart.describe_scene(p.size, len(fields), kit.raster.georef.get_crs(ndvi)))"),
    "cell-07": ('fields.set_index("field_id").head()',
                'kit.i18n.display_table(fields.set_index("field_id").head(), digits={"mean_ndvi": 3})  # fields.csv keeps its headers'),
    "cell-09": ('print(f"mean NDVI {mean_ndvi:.3f}; {vegetated:.1%} of the scene is vegetated (NDVI > {quickstart.VEGETATED_NDVI})")',
                "print(quickstart.key_figures(mean_ndvi, vegetated))"),
}

LEAK_FR = {
    "cell-00": f"""# Détection de fuites{NB}: des pressions et débits SCADA aux alarmes de fuite, avec débit, heure de début et localisation

Pour les régies et opérateurs de distribution d’eau (ONEE, sociétés régionales de distribution) équipés de capteurs de pression, de débitmètres en entrée de réseau et d’un modèle EPANET du réseau. À partir d’une période que vous déclarez sans fuite, le notebook apprend comment chaque pression suit les autres, puis guette la baisse qu’une fuite laisse derrière elle{NB}:

* des **alarmes** avec l’heure de début estimée, le débit de fuite (L/s) et une courte liste de nœuds candidats pour l’équipe de recherche acoustique (`alarms.csv`){NN};
* des **anomalies de qualité des données** (lacunes, capteurs figés, horodatages en double, valeurs hors plage) dans `flags.csv`{NN};
* l’évolution du **débit minimum de nuit** (MNF{NB}: débit entrant moins variation du stock du réservoir){NN};
* des scores à la manière de BattLeDIM 2020 quand un fichier de vérité terrain est donné (`metrics.json`).

Par défaut, il tourne sur le scénario L-Town intégré (le réseau et les capteurs de BattLeDIM, quatre semaines simulées avec trois fuites, une casse de type poteau d’incendie, des lacunes et un capteur figé). Les heures sans décalage UTC sont à l’heure locale du Maroc. Les fichiers de sortie gardent leurs noms de colonnes anglais documentés{NB}: d’autres systèmes les lisent.""",
    "cell-04": f"""## Le réseau et l’enregistrement SCADA

Les relevés sont convertis en mètres et en L/s sur une grille régulière en UTC{NN}; ce qui a dû être réparé ou masqué est signalé comme anomalie, et la détection porte sur le reste.""",
    "cell-07": f"""## Apprendre le comportement normal

Chaque pression est prédite à partir des autres pressions, du niveau du réservoir, du débit de la pompe et de l’heure de la journée, sur la période sans fuite. Le seuil du CUSUM est fixé pour que les résidus hors échantillon de cette période déclenchent `false_alarms_per_month` alarmes par mois. Une fuite déjà présente pendant l’apprentissage devient «{NB}normale{NB}»{NB}: elle n’est pas signalée, et les fuites suivantes sont encore trouvées par-dessus.""",
    "cell-09": f"""## Alarmes

`candidates` liste les nœuds du meilleur au moins bon (les signatures de fuite du modèle nominal qui expliquent le mieux la forme des résidus{NB}: des instantanés en régime permanent classent tous les nœuds, puis des simulations en période étendue de la liste courte, qui suivent la vidange des réservoirs, la reclassent){NN}; `score` est la part de cette forme qu’explique le meilleur candidat (0–1){NN}; `leak_flow_lps` vient du bilan hydraulique depuis le début estimé. Le tableau montre les cinq premiers candidats{NN}; `alarms.csv` les garde tous, avec ses noms de colonnes anglais.""",
    "cell-13": f"""## Où envoyer l’équipe

Chaque carte montre à quel point une fuite à chaque nœud explique la forme des résidus de l’alarme, les dix candidats classés (cerclés, le meilleur numéroté 1) et, quand un fichier de vérité terrain est donné, les fuites réelles (étoiles).""",
    "cell-15": f"""## Scores par rapport à la vérité terrain (si elle est donnée)

À la manière de BattLeDIM{NB}: une alarme pendant une fuite dont le meilleur candidat est à moins de 300{NN}m le long des conduites est un vrai positif{NN}; elle rapporte l’eau qu’elle économise jusqu’à la fin de l’enregistrement (0,80{NN}€/m³) moins le coût de recherche de l’équipe (500{NN}€ × distance / 300{NN}m){NN}; les autres alarmes (faux positifs) coûtent 500{NN}€ chacune. La somme est le score économique. Une fuite compte comme *détectée* quand une alarme tombe pendant qu’elle court, quelle que soit la localisation.""",
    "cc49dfa4": f"""## À vous de jouer

Trois exercices sur ce que fait le détecteur à l’intérieur. Chaque cellule marquée **exercice** est à compléter{NN}; la cellule suivante vérifie votre réponse et dit, en clair, si elle est juste. (`kit teach student leak_detection --lang fr --out DOSSIER` écrit la version sans les réponses.)

### Exercice 1{NB}: le CUSUM à la main

Pour chaque capteur, le détecteur transforme le résidu horaire de pression en une baisse normalisée `z` (positive quand la pression est plus basse que ce qu’attend le modèle) et la cumule{NB}: `S_t = max(0, S_{{t-1}} + z_t - k)`. La marge `k` (`detector.slack`, 2 écarts-types) évacue le bruit tandis qu’une baisse durable s’accumule. Une heure sans donnée (NaN) laisse `S` inchangé. Écrivez `my_cusum(z, slack)` pour un capteur (un tableau 1-D), qui renvoie `S` pour chaque heure.""",
    "b2c27227": f"""### Exercice 2{NB}: la règle du seuil

Une alarme se déclenche quand le plus grand `S` franchit un seuil. Le détecteur calcule `S` sur les résidus hors échantillon de la semaine d’apprentissage, garde le maximum de chaque jour et ajuste une loi de Gumbel à ces maxima par la méthode des moments{NB}: `beta = sd × √6 / π` (écart-type de l’échantillon), `mu = mean − 0.5772 × beta`. Le seuil est le niveau qu’un maximum journalier dépasse avec la probabilité `p = false_alarms_per_month / 30.44`{NB}: `mu − beta × ln(−ln(1 − p))`. Écrivez `threshold_rule(daily_max, false_alarms_per_month)`, en laissant de côté les jours sans valeur (NaN). (Le détecteur le multiplie ensuite par une `margin` de sécurité, 1,6, car une semaine d’apprentissage est courte.) Avant de lancer la vérification, devinez{NB}: pour une salle de contrôle plus calme, 0,25 fausse alarme par mois, le seuil est-il plus haut ou plus bas{NN}?""",
    "3d6608ec": f"""### Exercice 3{NB}: une alarme sur le débit de nuit

Les exploitants surveillent aussi le **débit minimum de nuit** (MNF){NB}: la nuit, la consommation est au plus bas, si bien que le débit d’une fuite ressort. `result.night_flow_lps` le donne nuit par nuit (L/s, indexé par date locale{NN}; la figure ci-dessus). Écrivez `first_mnf_alarm(mnf_lps, baseline_nights=7, rise_lps=1.0)`{NB}: prenez la médiane des `baseline_nights` premières nuits (la semaine sans fuite{NN}; les nuits sans données sont ignorées) et renvoyez la date de la première nuit suivante dont le MNF la dépasse de plus de `rise_lps`, ou `None`. Comparez ensuite avec les alarmes CUSUM{NB}: laquelle arrive la première, et laquelle dit à l’équipe où chercher{NN}?""",
}

LEAK_CODE = {
    "cell-03": ('print(f"device: {backend.device} (the detector is NumPy on the CPU; the device is recorded)")',
                "print(nbk.device_line(backend))"),
    "cell-05": ("print(network)\n", "print(nbk.network_summary(network))\n"),
    "cell-06": ("nbk.flags_for_display(flags)",
                "nbk.shown_flags(nbk.flags_for_display(flags))  # flags.csv keeps sensor_id, start, end, flag, count"),
    "cell-08": ('print(f"residual noise per hour: median {detector.sigma_hour_.median() * 1000:.1f} mm over {len(detector.sigma_hour_)} sensors; "\n      f"CUSUM threshold {detector.threshold_:.1f} standard deviations")',
                "print(nbk.fit_summary(detector))"),
    "cell-10": ('alarms.assign(candidates=alarms.candidates.str.split(";").str[:5].str.join(";") + " ...")',
                "nbk.shown_alarms(alarms)  # five candidates shown; alarms.csv holds them all, English headers"),
    "cell-16": ('    display(leaks.assign(detected_at=leaks.detected_at.dt.strftime("%Y-%m-%d %H:%M")).round(1))',
                "    display(nbk.shown_leaks(leaks))"),
}

PLANS = {"02_irrigation_planning": (IRRIGATION_FR, IRRIGATION_CODE), "00_quickstart": (QUICKSTART_FR, QUICKSTART_CODE),
         "03_leak_detection": (LEAK_FR, LEAK_CODE)}


def _load_plan(name: str, french: str, code: str) -> tuple:
    """A notebook's (French twins, code edits) from its module ``tools/french/<name>.py``, loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"nb_french_{name}", Path(__file__).parent / "french" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, french), getattr(module, code)


PLANS["01_yield_prediction"] = _load_plan("01_yield_prediction", "YIELD_FR", "YIELD_CODE")


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _tag(cell, tag):
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def patch(nb: dict, french: dict, code: dict) -> dict:
    cells = []
    by_id = {c.get("id"): c for c in nb["cells"]}
    for cell in nb["cells"]:
        cid = cell.get("id", "")
        if cid.endswith("-fr"):
            continue  # rebuilt below from the table
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []) and "\nlang = " not in "\n" + src:
            cell["source"] = _lines(src.rstrip("\n") + "\n" + LANG_LINE)
        if cid in code:
            old, new = code[cid]
            if old in src and new not in src:
                cell["source"] = _lines(src.replace(old, new))
        cells.append(cell)
        if cid in french:
            _tag(cell, "lang-en")
            twin = by_id.get(f"{cid}-fr") or {"cell_type": "markdown", "id": f"{cid}-fr", "metadata": {"tags": ["lang-fr"]}}
            twin["source"] = _lines(french[cid])
            cells.append(twin)
    nb["cells"] = cells
    return nb


def french_copy(source: Path, folder: Path) -> Path:
    """``folder/<name>.ipynb``: the source notebook in French (its French cells, ``lang = "fr"``), outputs cleared.

    nbval checks it like the English notebooks once executed
    (``tools/execute_notebooks.py``); ``tests/test_i18n.py`` checks that its
    cells are still the source's.
    """
    import nbformat

    from kit.notebooks import in_language

    nb = in_language(nbformat.read(source, as_version=4), source, "fr")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / source.name)
    return folder / source.name


def main(paths) -> None:
    for path in map(Path, paths):
        key = path.stem
        if key not in PLANS:
            raise SystemExit(f"{path}: no French cells defined here for {key}; known: {', '.join(PLANS)}")
        nb = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(patch(nb, *PLANS[key]), indent=1, ensure_ascii=False) + "\n"
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            print(f"patched {path}")
        else:
            print(f"{path} already up to date")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--copies"]:  # python tools/nb_french.py --copies notebooks/00_quickstart.ipynb
        for arg in sys.argv[2:]:
            print(f"wrote {french_copy(Path(arg), Path(arg).parent / 'fr')}")
    else:
        main(sys.argv[1:])
