"""French twins of notebook 04 (logistics vision) and its code cells that speak the report's language.

Loaded by path from ``tools/nb_french.py`` (``FRENCH``: markdown cell id ->
French text; ``CODE``: code cell id -> (old, new) source replacements, each
applied once). Words as a port's safety officer and terminal operations
read them: parc à conteneurs, portique d'accès, boîte englobante,
mAP@0,5, zone interdite, fiche du modèle.
"""
NB, NN = "\u00a0", "\u202f"  # no-break space before a colon; narrow no-break space before ; ? and units

FRENCH = {
    "cell-00": f"""# Vision pour la logistique{NB}: détecter, compter, alerter, lire les codes conteneurs, mesurer l’inférence

Pour les équipes d’exploitation des terminaux portuaires, des ports secs et des entrepôts (Tanger Med, Casablanca, zones logistiques) équipés de caméras fixes sur les parcs à conteneurs, les portiques d’accès et les quais.

À partir d’un dossier COCO d’images de caméra (ou de scènes synthétiques de parc et de portique d’accès générées ici, rien n’est téléchargé), ce notebook{NB}:

1. entraîne sur le CPU un petit modèle de détection d’objets pour les **conteneurs, camions, palettes et personnes** et l’évalue (mAP COCO, précision moyenne mAP@0,5 par classe, courbes précision–rappel){NN};
2. analyse les **images des caméras** (un fichier MP4, MKV, AVI ou MOV de l’enregistreur, ou le flux RTSP ou HTTP de la caméra{NN}; par défaut un extrait de parc intégré){NB}: suit les objets avec un traqueur pour qu’un camion ne soit compté qu’une fois, fait le comptage **par zone** au fil du temps et **par ligne de comptage** et par sens, mesure le temps de séjour de chaque objet dans chaque zone et déclenche des **alertes** quand une personne se trouve dans une zone interdite (zone de danger des engins) ou qu’un camion reste bloqué à un portique d’accès plus de `max_dwell_s`{NN}; un `preview.mp4` annoté floute les personnes (et, sur demande, les plaques d’immatriculation){NN};
3. fait la lecture OCR des **codes conteneurs** (ISO 6346) sur des vignettes, avec un petit lecteur CTC dont la sortie est corrigée par le chiffre de contrôle{NN};
4. exporte le détecteur en **ONNX**, l’exécute dans ONNX Runtime (fp32 et quantification int8 statique) et mesure la latence et le débit en images par seconde.

**Sorties** dans `output_dir`{NB}: `detections.json` (résultats COCO), `tracks.csv`, `crossings.csv`, `dwell.csv`, `counts.csv`, `alerts.csv`, `preview.mp4`, `codes.csv`, `benchmark.csv`, `model.onnx` et `metrics.json`. Ces fichiers gardent leurs noms de colonnes anglais documentés{NB}: d’autres systèmes les lisent.""",
    "cell-04": f"""## Données

Votre propre dossier COCO, ou des scènes synthétiques de parc et de caméra de portique d’accès (voir `datasets/logistics/README.md`{NB}: dimensions de conteneurs ISO 668, codes ISO 6346 peints, éclairage varié, flou, occultation et changements d’échelle). Les images, annotations et boîtes englobantes inutilisables sont écartées, avec le motif compté{NN}; le lot continue.""",
    "cell-06": f"""## Entraîner le détecteur

Un détecteur de type CenterNet (environ 0,5{NN}M de paramètres{NB}: une carte de chaleur par classe, la taille de la boîte et le décalage du centre au pas de 4), entraîné à partir de zéro{NB}: AdamW avec un taux d’apprentissage «{NB}one-cycle{NB}», en autocast bfloat16 là où le CPU a des instructions bfloat16 natives (des pas environ 1,7 fois plus rapides{NN}; float32 ailleurs), arrêt anticipé sur la mAP@0,5 de validation, points de reprise dans `output_dir/checkpoints`. Le seuil de score utilisé pour le **comptage** est calibré sur les images de validation, classe par classe, pour que les comptes soient justes.""",
    "cell-09": f"""## Scores sur le jeu de test

mAP COCO (IoU de 0,50 à 0,95) et mAP@0,5 calculées par `pycocotools`{NN}; par classe et sous forme de courbes précision–rappel. `detections.json` contient toutes les détections du test au format des résultats COCO.""",
    "cell-13": f"""## Exploitation des images des caméras

Les images sont votre vidéo (`video`{NB}: un fichier, ou un flux `rtsp://` ou `http(s)://`, découpé par `start_s` et `duration_s`) ou l’extrait intégré d’une caméra fixe (40 images, 5 par seconde). Les images sont prises à `process_fps` selon les horodatages du conteneur vidéo, mises au format carré de l’entrée du détecteur (bandes noires), et les boîtes reportées dans les pixels de la vidéo{NN}; zones et lignes sont dans ces pixels, et chaque objet est placé par son point au sol (le milieu du bas de sa boîte). Un traqueur relie les détections d’une image à l’autre pour que chaque camion ne soit compté qu’une fois (appariement par recouvrement, puis par inclusion quand une pile masque une partie d’un camion, puis par distance{NN}; une piste compte après 3 images, si bien que les fausses détections éphémères ne comptent pas{NN}; les détections faibles ne font que prolonger des pistes confirmées, et une piste qui sort du champ s’y arrête). Une piste qui franchit une ligne de comptage compte une fois par passage et par sens{NB}: son côté de la ligne ne change qu’une fois sortie d’une bande étroite autour de la ligne, si bien que les oscillations sur la ligne ne sont pas recomptées. Le temps de séjour est la présence de chaque piste dans chaque zone, juste à une image traitée près. Dans l’extrait synthétique, les camions roulent sur une voie à double sens au premier plan.""",
    "video-preview-md": f"""L’extrait annoté, `preview.mp4` (ses 10 premières secondes){NB}: boîtes avec les numéros de piste, zones (en rouge{NB}: interdites), lignes de comptage et comptes courants. Les classes de `blur` sont floutées avant tout tracé (par défaut la tête et les épaules des personnes{NN}; ajoutez `truck` pour la zone de la plaque), ainsi que dans les images ci-dessous.""",
    "cell-16": f"""## Codes conteneurs

Un petit CRNN lit les vignettes de code (ligne du haut puis ligne du bas, CTC){NN}; quand il lit 11 caractères, le chiffre de contrôle ISO 6346 choisit le code *valide* le plus probable, ce qui corrige la plupart des erreurs de lecture isolées. Un code conteneur se compose du code propriétaire (trois lettres), de la catégorie (U, J ou Z), du numéro de série (six chiffres) et du chiffre de contrôle. `codes.csv` donne le code lu, la validité de son chiffre de contrôle et une confiance. Avec `code_reader=ppocr`, PP-OCRv4 (inclus dans la roue rapidocr-onnxruntime, rien n’est téléchargé) fait la lecture OCR des vignettes à la place, ses probabilités de caractères décodées sous le même chiffre de contrôle, et trouve aussi les codes dans des images entières de portes (codes sur une ligne, sur deux lignes et empilés, avec la ligne taille-type).""",
    "cell-18": f"""## Inférence{NB}: ONNX Runtime fp32 et int8

Le détecteur est exporté dans `model.onnx` et comparé à Torch sur les mêmes images{NN}; une copie int8 statique (QDQ) est calibrée sur des images de validation et évaluée sur le jeu de test. Le banc d’essai suit MLPerf Inference{NB}: **SingleStream** (une image à la fois, centiles de latence) et **Offline** (grands lots, images par seconde), avec le même nombre de threads pour chaque moteur. Les vitesses varient d’une exécution à l’autre et d’une machine à l’autre{NB}: elles sont dans `benchmark.csv`, `metrics.json` et la figure.""",
    "model-card-text": f"""## Fiche du modèle

Données, classes, scores par classe, effet de la quantification int8, origine et conditions d’utilisation des poids, et limites connues, dans `model_card.md` (en anglais, comme les autres fichiers de sortie).""",
    "3a64989d": f"""## À vous de jouer

Trois exercices. Chaque cellule marquée **exercice** est à compléter{NN}; la cellule suivante vérifie votre réponse et dit, en clair, si elle est juste. (`kit teach student logistics_vision --lang fr --out DOSSIER` écrit la version sans les réponses.)

### Exercice 1{NB}: une augmentation qui garde les boîtes justes

Les images d’apprentissage sont augmentées (`kit.vision.data.train_transforms`) pour que le détecteur voie plus de positions et d’échelles que n’en contiennent les données. Avec `torchvision.transforms.v2`, les boîtes suivent l’image quand tout l’échantillon (image, `BoundingBoxes`, étiquettes) passe dans la transformation en un seul appel. Construisez `my_augment`{NB}: un retournement horizontal aléatoire, un zoom et un décalage aléatoires (`v2.RandomAffine` avec `degrees=0`), puis ramenez les boîtes dans l’image et supprimez celles devenues trop petites (`v2.ClampBoundingBoxes`, `v2.SanitizeBoundingBoxes`). La vérification peint des boîtes en couleurs et contrôle qu’après votre transformation chaque boîte est toujours sur sa couleur.""",
    "a00056a8": f"""### Exercice 2{NB}: l’intersection sur l’union

L’évaluation (une détection est juste à IoU ≥ 0,5) et le traqueur comparent tous deux les boîtes par leur intersection sur l’union (IoU). Écrivez `my_iou(a, b)` pour deux boîtes `[x0, y0, x1, y1]` en pixels.""",
    "94059c4f": f"""### Exercice 3{NB}: le chiffre de contrôle

Le lecteur de codes corrige la plupart des erreurs de lecture grâce au chiffre de contrôle ISO 6346 (`kit.vision.iso6346`). Écrivez-le vous-même{NB}: `my_check_digit(first10)` pour le code propriétaire, la catégorie et le numéro de série (les 10 premiers caractères). Les lettres valent A = 10, B = 12, C = 13, …, Z = 38 (11, 22 et 33 sont sautés), les chiffres leur propre valeur{NN}; multipliez le caractère en position i (en comptant à partir de 0) par 2**i, faites la somme et prenez le reste de la division par 11{NN}; un reste de 10 s’écrit 0.""",
}

CODE = {
    "cell-03": [
        ("from kit.vision import bench, evaluate, finetune, footage, operations, preview, recognizer, video\n",
         "from kit.vision import bench, evaluate, finetune, footage, operations, preview, recognizer, video, wording\n"),
        ('    raise ParameterError(f"parameter \'image_size\' must be a multiple of 16 px, got {p.image_size}")',
         "    raise ParameterError(wording.image_size_error(p.image_size))"),
        ("    print(f\"video: {info['width']}x{info['height']} px, {info['codec']}, {info['fps'] or 0:.1f} frames/s\")",
         "    print(wording.video_line(info))"),
        ('print(f"device: {backend.device}; zones: " + ", ".join(z.name + (" (restricted)" if z.restricted else "") for z in zones)\n'
         '      + "; lines: " + ", ".join(ln.name for ln in lines))',
         "print(wording.setup_line(backend, zones, lines))"),
    ],
    "cell-05": [
        ('for name, ds in (("train", train), ("val", val), ("test", test)):\n'
         "    n_boxes = sum(len(b) for b in ds.index.boxes)\n"
         '    print(f"{name}: {len(ds)} images, {n_boxes} boxes, {ds.report.dropped} items set aside")\n'
         'print("classes:", ", ".join(label_names.values()))',
         'for name, ds in (("train", train), ("val", val), ("test", test)):\n'
         "    print(wording.split_line(name, ds))\n"
         "print(wording.classes_line(label_names))"),
    ],
    "cell-07": [
        ('print(f"best epoch {result.best_epoch} of {len(result.history)} ({result.precision} autocast); counting thresholds {thresholds}")',
         "print(wording.training_line(result, label_names))"),
    ],
    "cell-10": [
        ('print(f"test mAP@0.5 {scores.map50:.3f}, mAP@0.50:0.95 {scores.map50_95:.3f} on {scores.n_images} images, {scores.n_gt} objects")\n'
         'print(f"mAP@0.5 {visible.map50:.3f} with the {visible.n_ignored} objects under 65 % visible ignored")\n'
         "scores.table().round(3)",
         "print(wording.test_scores_lines(scores, visible))\n"
         "wording.shown_scores(scores.table())"),
    ],
    "cell-14": [
        ('print(f"{clip.metrics[\'frames_processed\']} frames; distinct objects tracked: "\n'
         '      + ", ".join(f"{label_names[k]} {v}" for k, v in clip.distinct.items()))',
         "print(wording.tracked_line(clip, label_names))"),
        ('    print("moving objects in the clip (ground truth): " + ", ".join(f"{k} {v}" for k, v in truth.items()))',
         "    print(wording.truth_line(truth))"),
    ],
    "video-crossings": [
        ("for name, by_class in crossed.items():\n"
         "    print(f\"crossings of {name}: \" + \"; \".join(f\"{k} in {c['in']}, out {c['out']}\" for k, c in by_class.items()))\n"
         'restricted = clip.alerts[clip.alerts["alert"] == "person in restricted zone"]\n'
         'print(f"alerts: {len(restricted)} person-frames in restricted zones, {restricted[\'track_id\'].nunique()} people; "\n'
         '      f"{int((clip.alerts[\'alert\'] != \'person in restricted zone\').sum())} trucks held over max_dwell_s at a gate")',
         "print(wording.crossing_lines(crossed))\n"
         "print(wording.alerts_line(clip.alerts))"),
        ('clip.dwell.groupby(["zone", "category"])["dwell_s"].agg(["count", "mean", "max"]).round(1)  # stays, s',
         "wording.shown_dwell(clip.dwell)  # stays, s; dwell.csv keeps every stay, English columns"),
    ],
    "cell-17": [
        ('    print(f"{p.code_reader}: {len(codes)} test crops: whole-code accuracy {code_accuracy:.1%} after check-digit correction "\n'
         '          f"({raw_accuracy:.1%} before), {len(codes) / codes.attrs[\'read_s\']:.0f} codes/s")',
         "    print(wording.codes_line(p.code_reader, codes, code_accuracy, raw_accuracy))"),
        ('    print("no code_crops.json in the data set: code reading skipped")', "    print(wording.no_codes_line())"),
        ('    print(f"{len(doors)} whole door images: code read in {door_accuracy:.1%}; by layout: "\n'
         '          + ", ".join(f"{k} {v:.0%}" for k, v in (doors["code"] == doors["true_code"]).groupby(doors["layout"]).mean().items()))',
         "    print(wording.doors_line(doors, door_accuracy))"),
        ("\ncodes.head(8)", "\nwording.shown_codes(codes.head(8))  # codes.csv keeps its English columns"),
    ],
    "cell-19": [
        ('    print(f"{p.model}: model.onnx holds the backbone; resize, heads, anchors and NMS run in Torch")',
         "    print(wording.onnx_split_line(p.model))"),
        ('print(f"ONNX Runtime matches Torch within 1e-3: {deploy[\'onnx_max_abs_diff\'] < 1e-3}")\n'
         'print(f"test mAP@0.5: fp32 {scores.map50:.3f}, int8 {deploy[\'int8_scores\'].map50:.3f} "\n'
         '      f"({100 * (deploy[\'int8_scores\'].map50 - scores.map50):+.1f} points)")',
         "print(wording.onnx_lines(deploy[\"onnx_max_abs_diff\"], scores, deploy[\"int8_scores\"]))"),
    ],
    "cell-20": [
        ('print(f"benchmark of {len(table) // 2} engines written to benchmark.csv, {THREADS} thread(s)")',
         "print(wording.benchmark_line(len(table) // 2, THREADS))"),
    ],
    "model-card": [
        ('print("\\n".join(text.splitlines()[:2] + ["..."]) + f"\\nmodel_card.md: {len(text.splitlines())} lines")',
         "print(wording.card_lines(text))"),
    ],
}
