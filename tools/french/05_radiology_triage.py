"""Notebook 05 (radiology_triage): its French markdown twins and the code cells that speak the report's language.

Loaded by path from ``tools/nb_french.py`` (``PLANS["05_radiology_triage"]``),
which applies it idempotently: ``python tools/nb_french.py notebooks/05_radiology_triage.ipynb``.
French as a Moroccan radiologist and medical director read it: radiographie
thoracique, liste de travail, sensibilité, spécificité, VPP, seuil de décision,
compte rendu structuré (SR), loi 09-08 et CNDP.
"""
NB, NN = "\u00a0", "\u202f"  # no-break space before a colon; narrow no-break space before ; ? ! % and units

FRENCH = {
    "cell-00": f"""# Triage en radiologie{NB}: radiographies thoraciques désidentifiées, scorées et mises en ordre de lecture

Pour les services de radiologie et les cliniques privées qui pilotent un triage par IA des radiographies thoraciques dans le cadre de la loi 09-08 (CNDP{NB}: les données de santé sont des données sensibles). À partir d’un dossier exporté du PACS, ce notebook{NB}:

1. **lit** chaque fichier DICOM et met de côté, avec le motif, les fichiers illisibles, tronqués, sans image ou non décodables, et les images qui ne sont pas des radiographies thoraciques (`quarantine.csv`){NN};
2. **désidentifie** les examens selon l’annexe E de DICOM PS3.15, profil de base (Basic Profile), avec les options que nomme `deid_profile` (`deid/`, chaque action tracée dans `deid_audit.csv`){NN}; les images portant du texte incrusté (signalé dans l’en-tête, ou trouvé dans les pixels par un détecteur de texte) sont retenues, ou masquées avec `mask_burned_in`{NN};
3. **entraîne** un petit réseau convolutif, à partir de zéro, à signaler les anomalies urgentes (opacité étendue, pneumothorax, épanchement pleural), le calibre et fixe le seuil de décision à une sensibilité cible choisie sur les données de validation{NN};
4. **l’évalue** sur des patients mis de côté{NB}: aire sous la courbe ROC (AUC) avec son intervalle par bootstrap, sensibilité, spécificité, valeur prédictive positive (VPP), les mêmes par site, appareil, sexe et tranche d’âge (agrégats seulement, petits effectifs masqués), et des cartes d’activation Grad-CAM de ce que le réseau regarde{NN};
5. écrit une **liste de travail priorisée** sur des identifiants désidentifiés (`worklist.csv`) et simule des vacations pour mesurer combien plus tôt les examens urgents sont lus qu’en ordre d’arrivée{NN};
6. exporte le modèle en **ONNX int8** et le mesure de nouveau{NN}; écrit une **fiche du modèle** (model card, `model_card.md`, en anglais).

Sans `dicom_dir`, il tourne sur un jeu synthétique intégré (généré à la première utilisation, rien n’est téléchargé). Avec `dicom_dir` seul, il trie ce dossier avec un modèle entraîné sur le jeu intégré (ou le point de contrôle `model`){NN}; avec `labels` en plus, il s’entraîne et s’évalue sur vos examens. Avec `pacs` (l’URL racine d’un serveur DICOMweb, par exemple `/dicom-web` d’Orthanc), il récupère les radiographies thoraciques que sélectionne `pacs_query` et qu’aucune exécution précédente n’a triées, les trie comme un `dicom_dir` et dépose dans le PACS un compte rendu structuré DICOM (SR) par examen, à côté des images. Les fichiers de sortie gardent leurs noms de colonnes anglais documentés{NB}: d’autres systèmes les lisent.""",
    "cell-03": f"""## Où le calcul s’exécute

L’entraînement est initialisé par une graine et déterministe{NN}; Torch utilise un seul fil d’exécution (le réseau est petit, et sur une machine partagée davantage de fils ne font que se gêner).""",
    "cell-05": f"""## Lecture{NB}: chaque fichier vérifié, les mauvais mis de côté

Chaque fichier est lu avec pydicom et vérifié (en-tête complet, données pixel présentes et de la taille annoncée, syntaxe de transfert décodable){NN}; ses pixels sont mis à l’échelle pour l’affichage (rescale de la modalité, fenêtre VOI, MONOCHROME1 inversé pour que l’os soit blanc) puis redimensionnés. Rien n’est encore écrit{NB}: un mauvais paramètre ou un dossier inutilisable arrête tout ici.""",
    "cell-07": f"""## Désidentification (PS3.15 annexe E, profil de base)

Chaque attribut du tableau E.1-1 (PS3.15, édition nommée dans `kit.medical._annex_e`) est supprimé, vidé ou remplacé comme le prescrit le profil de base{NN}; `deid_profile` ajoute des options de l’annexe E (`retain_patient_characteristics`, `retain_longitudinal_modified_dates`, …), chacune déclarée dans la De-identification Method Code Sequence. Le défaut, `basic`, applique la minimisation des données{NB}: ni sexe, ni âge, ni date d’examen ne restent dans `deid/`. Les UID sont remplacés de façon cohérente, les attributs privés, overlays et courbes supprimés, `PatientIdentityRemoved = YES`. Les images marquées `BurnedInAnnotation = YES`, et celles où le détecteur de texte PP-OCRv4 trouve du texte au-delà d’un marqueur de latéralité, sont retenues{NB}: le profil de base ne nettoie pas les pixels. Avec `mask_burned_in`, le texte trouvé est rempli avec le minimum de l’image, une ligne `mask` dans la traçabilité.

Pseudonymes, UID et décalages de dates viennent d’un hachage à clé d’un secret{NB}: définissez `KIT_DEID_SECRET` (ou `KIT_DEID_SECRET_FILE`, un fichier de clé) et le même patient reçoit le même pseudonyme à chaque exécution, pour le suivi dans le temps (pseudonymisation){NN}; sans lui, un secret aléatoire est tiré et les pseudonymes de l’exécution ne servent qu’une fois. Le secret n’est jamais écrit{NN}; la table de correspondance entre anciens et nouveaux UID reste en mémoire.""",
    "cell-09": f"""## Entraînement à partir de zéro

Chaque patient va entier dans un seul sous-ensemble (40{NN}% entraînement, 30{NN}% validation, 30{NN}% test{NB}: le seuil de décision est choisi sur les examens urgents de la validation et vérifié sur ceux du test, il en faut donc beaucoup dans les deux{NN}; le jeu intégré est enrichi à 40{NN}% d’urgents pour la même raison), si bien qu’un examen répété ne peut pas passer de l’entraînement au test. Les examens retenus et non étiquetés sont écartés. Le réseau est un CNN à quatre étages d’environ 0,4{NN}M de paramètres{NN}; les lots d’entraînement sont augmentés (positionnement, gamma, contraste, bruit{NB}: ce qui change d’un site et d’un appareil à l’autre). Le temperature scaling calibre ensuite les probabilités, et le seuil de décision est fixé sur la **validation**{NB}: avec `operating_rule = "lower_bound"` (défaut), au seuil le plus haut où la borne inférieure de l’intervalle de Wilson à 95{NN}% de la sensibilité de validation atteint encore la cible, pour que l’erreur d’échantillonnage de la validation et du test ne laisse pas la sensibilité de test sous la cible une fois sur deux (avec `quantile`, la sensibilité de validation elle-même vaut la cible). Cette marge coûte un peu de spécificité{NN}; elle est d’autant plus petite que la validation compte d’examens urgents.""",
    "cell-12": f"""## Sous-ensemble de test{NB}: discrimination, seuil de décision, calibration

AUC avec un intervalle par bootstrap stratifié (1{NN}000 répétitions){NN}; sensibilité et spécificité avec des intervalles de Wilson{NN}; VPP à la prévalence du sous-ensemble de test. Le jeu intégré est construit pour être à peu près aussi difficile que la pratique (anomalies discrètes, images trompeuses, clichés au lit, 2{NN}% d’erreurs d’étiquette{NB}: `datasets/radiology/README.md`), si bien qu’un petit CNN y reste nettement sous 1. Le diagramme de fiabilité montre l’écart entre la probabilité calibrée et la fréquence observée{NN}; l’erreur de calibration attendue (ECE, 10 classes de même largeur) somme cet écart, pondéré par les examens de chaque classe.""",
    "cell-16": f"""## Sous-groupes{NB}: site, appareil, incidence, sexe, tranche d’âge

Lus dans les en-têtes d’origine à la lecture, en mémoire, avant la désidentification (les fichiers désidentifiés ne gardent pas l’établissement et, avec le profil de base, ni le sexe ni l’âge). Présentés en agrégats seulement{NB}: un groupe de moins de 10 examens, ou de moins de 10 urgents ou non urgents, affiche `<10` et aucune mesure{NN}; rien n’est écrit par patient. Les clichés au lit (incidence AP), les poumons des patients âgés et le site qui fait le plus de clichés au lit sont plus difficiles, pour les mêmes raisons qu’en pratique (voile, électrodes et tubulures, cœur agrandi, marques liées à l’âge){NB}: leurs mesures diffèrent. Le seuil est le même pour tous{NN}; un sous-groupe dont l’intervalle de sensibilité est sous la cible demande de l’attention avant tout déploiement.""",
    "cell-18": f"""## Grad-CAM{NB}: ce que regarde le réseau

La carte d’activation pondère les activations du dernier bloc de convolution par le gradient du logit urgent{NB}: les zones chaudes sont des arguments *en faveur* d’une anomalie urgente. Une carte hors des poumons sur une image signalée est une raison de se méfier de ce score.""",
    "cell-20": f"""## La liste de travail, et ce qu’elle change sur une vacation

`worklist.csv` liste les examens désidentifiés du dossier dans l’ordre de lecture (`rank` 1 en premier), avec la probabilité calibrée et la priorité au seuil de décision.

La simulation rejoue 40 vacations de huit heures (deux radiologues, environ 4{NN}minutes par lecture, des arrivées qui les occupent à 92{NN}%) en tirant des examens du sous-ensemble de test, une fois en ordre d’arrivée (premier arrivé, premier lu) et une fois avec la priorité de l’IA. Le **plafond d’attente** fait passer en tête tout examen qui attend depuis 30{NN}minutes, pour que les examens urgents manqués par le modèle ne soient pas enterrés sous les examens signalés (sans lui, Baltruschat et al. 2021 ont vu le délai maximal de lecture des pneumothorax passer de 890 à 1{NN}293{NN}min alors que la moyenne baissait de 80 à 36{NN}min).""",
    "xrv-pathologies-md": f"""### Les pathologies de torchxrayvision à côté du score urgent

Quand `model` nomme des poids torchxrayvision (DenseNet-121 ou ResNet-50, lus hors ligne), les 18 sorties de pathologies du réseau accompagnent chaque examen{NB}: ses probabilités, remises à l’échelle pour que chacun de ses seuils de fonctionnement corresponde à 0,5. Ci-dessous, par examen, les trois plus élevées à côté de notre `p_urgent` calibrée{NN}; `xrv_pathologies.csv` les contient toutes. Ce sont celles de torchxrayvision, entraîné sur des jeux publics, non validées ici. Avec un réseau entraîné ici, cette cellule n’affiche rien.""",
    "cell-23": f"""## Inférence{NB}: ONNX, int8

Le réseau est exporté en ONNX et quantifié statiquement en int8 (QDQ{NN}; plages d’activation calibrées sur de vraies images de validation), puis rescoré sur le sous-ensemble de test. Le débit est mesuré sur un seul fil d’exécution sur cette machine, face à Torch fp32.""",
    "cell-25": f"""## Fiche du modèle

Usage prévu, données, mesures avec leurs intervalles, résultats par sous-groupe et limites, dans `model_card.md`. La fiche reste en anglais, langue du dossier réglementaire et de la documentation du modèle{NN}; ce rapport en donne l’essentiel en français.""",
    "pacs-md": f"""## Les résultats renvoyés au PACS

Avec `pacs`, chaque examen scoré reçoit un compte rendu structuré DICOM (SR, gabarit TID 1500{NB}: la probabilité calibrée d’une anomalie urgente, la priorité au seuil de décision, le nom, la version, le seuil et la fiche du modèle, et une référence à chaque image scorée), déposé par STOW-RS dans son examen pour que la console du radiologue l’affiche à côté des radiographies (`push_results = False` n’en dépose aucun). Les fichiers récupérés, encore identifiants, sont supprimés ici{NN}; `pacs_state.json`, à côté des dossiers d’exécution, garde la trace des examens déjà triés (sous forme d’empreintes, pas d’UID), pour que l’exécution suivante ne récupère que les nouveaux. Sans `pacs`, cette cellule ne fait rien.""",
    "85c63439": f"""## À vous de jouer

Trois exercices. Chaque cellule marquée **exercice** est à compléter{NN}; la cellule suivante vérifie votre réponse et dit, en clair, si elle est juste. (`kit teach student radiology_triage --lang fr --out DOSSIER` écrit la version sans les réponses.)

### Exercice 1{NB}: une augmentation

Les lots d’entraînement sont augmentés par les transformations de `kit.medical.augment`{NB}: chacune s’appelle `t(images, generator)` sur un tenseur de réels `(batch, 1, H, W)` dans [0, 1] et tire chaque nombre aléatoire du `torch.Generator` qu’on lui donne, pour qu’une exécution avec graine soit reproductible. Écrivez `RandomShift`{NB}: déplacer chaque image d’un nombre entier de pixels tiré entre `-max_px` et `max_px` dans chaque direction, en remplissant le bord découvert par 0 (l’air), comme un patient un peu décentré. La vérification génère des thorax avec et sans anomalie et contrôle aussi que **l’étiquette est conservée**{NB}: après augmentation, l’anomalie doit rester visible (un recadrage ou un effacement qui peut la faire disparaître transforme une image urgente en image mal étiquetée).""",
    "a62aefc1": f"""### Exercice 2{NB}: le seuil de décision

Le classifieur signale un examen quand son logit `z` atteint au moins un seuil. Plus haut, `clf.set_operating_point` l’a choisi sur le sous-ensemble de **validation** avec une marge (`operating_rule`){NN}; la règle simple, que demande cet exercice, le place là où la part des examens urgents signalés (la sensibilité) vaut `target_sensitivity`. Faites-le vous-même à partir des logits de validation `z_va`{NB}: trouvez `my_threshold` auquel la sensibilité de validation vaut la cible. Indice{NB}: la sensibilité à un seuil `t` est la part des examens urgents avec `z >= t`, donc `t` est un quantile des logits des examens urgents. La vérification montre aussi ce que donne votre seuil sur le sous-ensemble de test.""",
    "400f7ceb": f"""### Exercice 3{NB}: la VPP à une autre prévalence

La VPP affichée plus haut est celle de la prévalence du sous-ensemble de test, enrichi à environ 40{NN}% d’urgents. Aux urgences, peut-être 5 à 10{NN}% des radiographies thoraciques sont urgentes. Écrivez `ppv_at(sensitivity, specificity, prevalence)`, la part des examens signalés qui sont réellement urgents, par la formule de Bayes. La vérification la donne ensuite pour ce seuil de décision à 10{NN}% de prévalence.""",
}

CODE = {
    "cell-04": ('print(f"device: {backend.device} ({backend.reason})")', "print(nbk.device_line(backend))"),
    "cell-06": ('print(f"data: {inputs.source}")\nprint(f"folder to triage: {len(triage.table)} images, {triage.table.study_uid.nunique()} studies, "\n'
                '      f"{len(triage.quarantine)} files set aside")',
                "print(nbk.data_lines(inputs, triage))"),
    "cell-08": ('print(f"{len(deid.table)} images de-identified into deid/ ({deid.profile}), {len(deid.audit)} actions audited; "\n'
                '      f"{len(quarantine)} files in quarantine.csv\\n{deid.notice}")\nnbk.quarantine_summary(quarantine)',
                "print(nbk.deid_summary(deid, quarantine))\n"
                "nbk.shown_quarantine(nbk.quarantine_summary(quarantine))  # quarantine.csv keeps the English reasons"),
    "cell-10": ('print(f"{clf.arch}: {clf.n_parameters() / 1e6:.2f} M parameters, {size} px; "\n'
                '      f"train {tr.sum()}, validation {va.sum()}, test {te.sum()} images")\n'
                'print(f"temperature {clf.temperature_:.2f}; threshold p_urgent >= {clf.threshold_:.3f} "\n'
                '      f"(validation sensitivity {(clf.decision_function(X[va])[y[va] == 1] >= clf.logit_threshold_).mean():.3f}, "\n'
                '      f"rule {p.operating_rule}, target {p.target_sensitivity:.2f})")',
                "print(nbk.fit_summary(clf, size, (tr, va, te), clf.decision_function(X[va]), y[va], p.operating_rule,\n"
                "                      p.target_sensitivity))"),
    "cell-13": ('print(f"AUROC {auc[0]:.3f} (95% CI {auc[1]:.3f}-{auc[2]:.3f}) on {op[\'n\']} test images, {op[\'n_urgent\']} urgent")\n'
                'print(f"sensitivity {op[\'sensitivity\']:.3f} ({op[\'sensitivity_low\']:.3f}-{op[\'sensitivity_high\']:.3f}), "\n'
                '      f"target {p.target_sensitivity:.2f}; specificity {op[\'specificity\']:.3f} "\n'
                '      f"({op[\'specificity_low\']:.3f}-{op[\'specificity_high\']:.3f}); PPV {op[\'ppv\']:.3f} at prevalence {op[\'prevalence\']:.2f}")',
                "print(nbk.test_summary(auc, op, p.target_sensitivity))"),
    "cell-15": ('print(f"ECE on the test split: {ece:.3f} after temperature scaling ({ece_raw:.3f} before)")',
                "print(nbk.ece_line(ece, ece_raw))"),
    "cell-17": ("subgroups.round(3)", "nbk.shown_subgroups(subgroups)  # rounded to 0.001, headers in the report's language"),
    "cell-19": ('titles = [f"{\'urgent\' if y[te][i] else \'no finding\'}{\' (\' + kind[i] + \')\' if kind is not None and y[te][i] else \'\'}\\n"\n'
                '          f"p={p_te[i]:.2f} {\'flagged\' if flag_te[i] else \'not flagged\'}" for i in pick]',
                "titles = nbk.gradcam_titles(y[te], kind, p_te, flag_te, pick)"),
    "cell-21": ("print(f\"worklist: {len(wl)} studies, {(wl.priority == 'urgent').sum()} flagged urgent\")",
                "print(nbk.worklist_line(wl))"),
    "cell-22": ("print(f\"urgent studies, median wait: FIFO {sim.metric('median', 'fifo'):.1f} -> AI {sim.metric('median', 'ai'):.1f} min; \"\n"
                "      f\"maximum: FIFO {sim.metric('max', 'fifo'):.0f} -> AI {sim.metric('max', 'ai'):.0f} min\")\n"
                "kit.plotting.show(nbk.plot_waits(sim))\nsim.summary.round(1)",
                "print(nbk.waits_line(sim))\nkit.plotting.show(nbk.plot_waits(sim))\n"
                "nbk.shown_waits(sim.summary)  # minutes, rounded to 0.1"),
    "cell-24": ('print(f"int8 AUROC {int8_auroc:.3f} (Torch fp32 {auc[0]:.3f}, change {int8_auroc - auc[0]:+.3f}); "\n'
                '      f"int8 at least twice Torch fp32 throughput: {speedup >= 2}")',
                "print(nbk.int8_line(int8_auroc, auc[0], speedup))"),
    "cell-26": ('print("\\n".join(card.splitlines()[:12]))', "print(nbk.card_preview(card))  # model_card.md itself stays English"),
    "pacs-push": ('    print(f"{len(reports)} structured reports built, {stored} stored in the PACS")',
                  "    print(nbk.pacs_line(len(reports), stored))"),
}

PLAN = (FRENCH, CODE)
