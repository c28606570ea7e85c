"""The SRGAN paper's mean-opinion-score study as software (Ledig et al., CVPR 2017, Sec. 3.4).

  study.py       creating a study: SR images, calibration set, blinded per-rater lists
  database.py    the SQLite store and the rules of the study as its constraints
  webapp.py      the rating web app and the owner's live results page (Flask on waitress)
  statistics.py  MOS with confidence intervals, pairwise tests, rater consistency
  figure.py      the score-distribution figure in the style of SRGAN Fig. 5
  simulation.py  simulated raters (known per-method score plus noise) over HTTP: tests, load test
The program is `sr-mos` (sr_keras/programs/mos.py).
"""
