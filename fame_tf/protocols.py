"""The two full-ranking protocols, named once (TensorFlow-free: the config validates with them).

- ``seen_kept`` (the paper's and RecBole's): items the user already has stay in the ranking;
- ``seen_excluded`` (BSARec-, DuoRec-style tables): every item of the user's whole history other
  than the target is removed from the ranking (the target stays rankable when it is a repeat).
"""

KEPT = "seen_kept"
EXCLUDED = "seen_excluded"  # also the key of the seen-excluded metrics in a metrics dict
PROTOCOLS = (KEPT, EXCLUDED)
MONITOR = "ndcg@10"  # the validation metric that selects the epoch (under the run's selection protocol)
