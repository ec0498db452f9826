"""Notebook 01 (yield_prediction): French twins of its markdown cells and the code cells that speak the report's language.

Loaded by path from ``tools/nb_french.py`` (``PLANS["01_yield_prediction"]``). The notebook declares no ``lang``
parameter (``KIT_LANG`` carries it, as ``tests/test_i18n.py`` expects).
"""
NB, NN = "\u00a0", "\u202f"

FRENCH = {
    "cell-00": f"""# Prévision de rendement{NB}: rendements céréaliers par parcelle avec intervalle P10–P90, avant la récolte

Pour les analystes des offices régionaux (ORMVA, DRA), les assureurs et les équipes agritech qui prévoient les rendements du blé tendre, du blé dur et de l’orge par parcelle et par commune avant la récolte, et les cartographient.

À partir d’une série temporelle d’indices de végétation satellitaires (un dossier de GeoTIFF Sentinel-2, ou la table `field_id, date, ndvi` exportée d’Earth Engine ou de Sentinel Hub), de la météo journalière, du sol et de variables de la campagne agricole, il produit{NB}:

- `predictions.csv`{NB}: `field_id, year, yield_p10, yield_p50, yield_p90` (t/ha) pour la campagne visée, avec les seules données disponibles jusqu’à la date de prévision `forecast_date`{NN};
- `yield_map.tif` (avec des images){NB}: P10/P50/P90 par pixel, en GeoTIFF optimisé pour le cloud (COG){NN};
- `features.parquet` (ce que voit le modèle), `cv_predictions.csv` (chaque prévision hors année avec son pli), `skipped.csv` (ce qui a été écarté, et pourquoi){NN};
- `metrics.json`{NB}: la performance en validation croisée en laissant une année de côté, **à côté des références naïves** (moyenne de la parcelle, moyenne de la parcelle + tendance), et la couverture de l’intervalle P10–P90.

Sans paramètre de données, il tourne sur une région synthétique intégrée, inspirée de la zone bour de la Chaouia (`datasets/yield/README.md`). Les fichiers de sortie gardent leurs noms de colonnes anglais documentés{NB}: d’autres systèmes les lisent.""",
    "cell-04": f"""## Entrées

Les images sont lues en une pile `(time, band, y, x)` avec leur système de coordonnées{NN}; nuages, ombres et neige sont masqués par la classification de scène (masque de nuages SCL){NN}; NDVI et NDMI sont calculés sur le périphérique choisi et moyennés sur chaque parcelle (rastérisée une seule fois). Une table `index_series` évite toutes ces étapes. Une entrée erronée s’arrête ici, sur une ligne qui nomme le fichier, la ligne et la correction{NN}; les parcelles hors des images, les rendements de parcelles inconnues et les campagnes sans imagerie sont comptés et écartés.""",
    "cell-06": f"""## Variables explicatives, avec les seules données disponibles à la date de prévision

Pour chaque parcelle et chaque campagne, le même jour de la campagne sert de date de coupure{NB}: la courbe de l’indice est comblée et lissée à partir des observations sans nuage jusqu’à ce jour (le NDVI suit son enveloppe supérieure{NB}: une date déclarée claire mais très en dessous de la première courbe est prise pour un voile nuageux ou une ombre que le masque a manqués, et écartée), et le reste de la campagne est complété par la climatologie (la courbe moyenne de la parcelle sur les autres campagnes avec rendement, l’écart à la date de coupure s’estompant{NN}; la météo moyenne de chaque jour suivant sur ces campagnes){NB}: chaque variable existe ainsi à chaque échéance sans regarder au-delà de la date de prévision. La courbe est résumée par sa phénologie (pic, date du pic, intégrale, dates de reverdissement et de sénescence, moyennes mensuelles){NN}; la météo entre par les stades de croissance de la FAO-56 (degrés-jours, pluie, ET0, jours au-dessus de 32{NN}°C) et par le stress hydrique du bilan hydrique journalier du sol de `kit.agro` (Ks moyen, jours de stress) de chaque parcelle{NN}; la part de l’ET de la culture sans stress que le bilan a transpirée jusqu’à la date de prévision et sur ses 60 derniers jours (un indice de stress hydrique dans l’esprit d’ARID) et l’ET manquante en mm{NN}; le rayonnement absorbé par le couvert depuis le semis (fAPAR issu du NDVI × PAR, avec et sans stress hydrique, et pondéré par les facteurs de jours frais et chauds du modèle de culture SIMPLE{NB}: le moteur d’un modèle d’efficience d’utilisation de la lumière) relie les deux{NN}; la réserve utile du sol, la date de semis et d’autres variables s’y ajoutent. Les arbres du P50 sont contraints là où l’agronomie dit dans quel sens va le rendement (pas plus bas avec un pic de NDVI plus haut, plus de rayonnement absorbé, plus d’eau transpirée ou une réserve utile plus profonde{NN}; `kit.yieldpred.estimator.MONOTONE`).""",
    "cell-09": f"""## Quelle fiabilité{NN}? Validation croisée en laissant une année de côté

Chaque campagne est tour à tour entièrement mise de côté{NN}; les modèles (LightGBM P10, P50, P90{NN}; des plis internes de campagnes d’apprentissage entières fixent une correction conforme de l’intervalle de prévision, jusqu’où la prévision peut s’écarter de la meilleure référence et la part d’un LightGBM simple dans la médiane) ne sont entraînés que sur les autres campagnes, de même que les deux références naïves{NB}: le rendement moyen de la parcelle, et cette moyenne plus une tendance linéaire régionale. Un découpage où une campagne de test apparaît dans l’apprentissage est refusé. Les bancs d’essai de rendement (par ex. CY-Bench) montrent que l’apprentissage automatique bat souvent mal ces références{NB}: comparez avant de vous fier à la prévision. L’erreur est l’erreur quadratique moyenne normalisée (NRMSE{NB}: RMSE divisée par le rendement moyen observé).""",
    "cell-12": f"""Un contrôle plus strict quand les parcelles portent un groupe (ici la `commune`){NB}: mettre de côté à la fois une campagne **et** une commune, en n’apprenant que sur les autres campagnes des autres communes, pour que ni la météo de la campagne ni les parcelles voisines ne soient vues (P50 seulement).""",
    "cell-14": f"""## Performance selon l’échéance

La même validation croisée pour des prévisions émises à d’autres dates, chacune avec ses propres modèles entraînés sur les données jusqu’à ce jour de chaque campagne, le reste de chaque campagne étant complété par la climatologie (P50 seulement). Tôt dans la campagne, les variables disent peu d’une campagne que le modèle n’a pas vue, et la prévision reste proche de la meilleure référence{NN}; elle s’en détache à mesure que le couvert révèle la campagne. La ligne rouge en tirets est la date de prévision `forecast_date` de cette exécution.""",
    "cell-17": f"""## Prévision pour la campagne visée

Les modèles sont réentraînés sur toutes les campagnes avec rendement et appliqués aux variables de la campagne visée (données jusqu’à la date de prévision).""",
    "cell-20": f"""## Pourquoi{NB}: importance des variables

Contributions par prévision (TreeSHAP) du modèle P50, en t/ha{NB}: chaque prévision est la somme de ses contributions et d’une valeur de base. Elles sont écrites dans `contributions.csv`.""",
    "cell-22": "## Carte des rendements",
    "cell-24": f"""## Limites

- La région intégrée est synthétique{NB}: sa performance montre que la méthode fonctionne quand imagerie, météo et rendements sont cohérents, pas ce qu’elle atteindra sur vos parcelles. Lisez toujours votre propre validation croisée à côté des références.
- Avec peu de campagnes (moins de 6 environ), la performance en laissant une année de côté est bruitée et les intervalles sont difficiles à calibrer{NB}: une nouvelle campagne peut sortir de tout ce qui a été vu.
- La météo de la station est commune à toutes les parcelles{NN}; les différences locales de pluie ne se voient qu’à travers l’imagerie.""",
    "dacd472f": f"""## À vous de jouer

Deux exercices. Chaque cellule marquée **exercice** est à compléter{NN}; la cellule suivante vérifie votre réponse et dit, en clair, si elle est juste. (`kit teach student yield_prediction --lang fr --out DOSSIER` écrit la version sans les réponses.)

### Exercice 1{NB}: une variable de stress thermique

Les jours chauds autour de la floraison réduisent le nombre de grains du blé et de l’orge. Écrivez `heat_days(weather, year, cutoff_day, season_start, tmax_c=30.0)`{NB}: le nombre de jours dont la température maximale atteint au moins `tmax_c` (°C) dans la météo de la station `weather` (indexée par date, colonne `tmax_c`), du premier jour de la campagne `year` (`yieldpred.season_start_date(year, season_start)`) jusqu’au jour `cutoff_day` de celle-ci, tous deux inclus. Ajoutez-la ensuite à une copie de la table des variables sous le nom `heat_days_30`, chaque ligne avec sa propre campagne{NB}: `features_heat`. (Curieux de savoir si elle aide{NN}? `yieldpred.cross_validate(features_heat, inputs.yields, exclude_year=p.target_year)` réentraîne les modèles avec elle.)""",
    "5c2ec236": f"""### Exercice 2{NB}: la NRMSE de la référence, à la main

`cv` contient chaque prévision hors année{NB}: le rendement observé `yield_t_ha`, le `yield_p50` du modèle et les deux références, `baseline_mean` et `baseline_trend`. Calculez vous-même la NRMSE de la référence avec tendance, `nrmse_trend`{NB}: la racine de l’erreur quadratique moyenne divisée par le rendement moyen observé. Elle doit correspondre au tableau de la validation croisée.""",
}

CODE = {
    "cell-03": ('print(f"device: {backend.device}")', "print(nbk.device_line(backend))"),
    "cell-05": ('''print(inputs.source)
if nbk.write_index_series(inputs, p.output_dir):
    print(f"index_series.csv: {', '.join(c for c in inputs.observations.columns if c not in ('field_id', 'date'))} per field and clear date")
print(f"{len(inputs.observations):,} clear field-date observations of {', '.join(c for c in inputs.observations.columns if c not in ('field_id', 'date'))}")
print(f"seasons used: {years[0]}-{years[-1]}; forecast for {p.target_year} with data up to day {day} of the season")''',
                '''wrote_series = nbk.write_index_series(inputs, p.output_dir) is not None  # index_series.csv, from rasters only
print(nbk.inputs_summary(inputs, years, p.target_year, day, wrote_series))'''),
    "cell-07": ('print(f"{len(features):,} field-seasons x {len(yieldpred.model_columns(features))} features; {len(skipped_all)} field-seasons set aside")',
                "print(nbk.features_summary(len(features), len(yieldpred.model_columns(features)), len(skipped_all)))"),
    "cell-10": ('''pd.DataFrame({
    "NRMSE": [metrics["cv_nrmse_p50"], metrics["baseline_nrmse_mean"], metrics["baseline_nrmse_trend"]],
    "RMSE (t/ha)": [metrics["cv_rmse_p50"], metrics["baseline_rmse_mean"], metrics["baseline_rmse_trend"]],
}, index=["model (P50)", "baseline: field mean", "baseline: field mean + trend"]).round(3)''',
                "nbk.skill_table(metrics)  # metrics.json holds the same figures under English names"),
    "cell-11": ('''verdict = f"beats the better baseline: RMSE {gain:.0%} lower" if gain > 0 else f"does NOT beat the better baseline: RMSE {-gain:.0%} higher"
print(f"The model {verdict} (target: at least 30 % lower).")
print(f"P10-P90 covers {metrics['interval_coverage_p10_p90']:.0%} of out-of-year observations (target 70-90 %, ideal 80 %).")''',
                "print(nbk.verdict_lines(gain, metrics[\"interval_coverage_p10_p90\"]))"),
    "cell-13": ('''    print(f"season and commune held out ({spatial['folds']} folds): model NRMSE {spatial['cv_nrmse_p50']:.1%}, "
          f"field mean {spatial['baseline_nrmse_mean']:.1%}, trend {spatial['baseline_nrmse_trend']:.1%}")
else:
    print("the fields have no commune column: spatial-group check skipped")''',
                '''    print(nbk.spatial_line(spatial))
else:
    print(nbk.spatial_line(None))'''),
    "cell-15": ('lead.assign(date=[(yieldpred.season_start_date(p.target_year, p.season_start) + pd.Timedelta(days=d)).strftime("%d %b") for d in lead.cutoff_day]).set_index("date").drop(columns="cutoff_day").round(3)',
                "nbk.lead_table(lead, p.target_year, p.season_start)"),
    "cell-18": ('''print(f"{len(predictions)} fields forecast for {p.target_year}: mean P50 {predictions['yield_p50'].mean():.2f} t/ha "
      f"(P10 {predictions['yield_p10'].mean():.2f}, P90 {predictions['yield_p90'].mean():.2f}); {len(skipped_all)} set aside")
predictions.head().set_index("field_id")''',
                '''print(nbk.forecast_summary(predictions, p.target_year, len(skipped_all)))
nbk.shown_predictions(predictions)  # predictions.csv keeps field_id, year, yield_p10, yield_p50, yield_p90'''),
    "cell-19": ('    print(f"check against the hidden {p.target_year} yields: RMSE {err:.2f} t/ha, P10-P90 coverage {cover:.0%}")',
                "    print(nbk.hidden_truth_line(p.target_year, err, cover))"),
    "cell-23": ('    print("no rasters (index_series input): no yield map; predictions.csv has every field")',
                "    print(nbk.no_map_note())"),
}
