"""What a clinician reads: triage and advice, explanations, the next question, the interview.

Owns ``policy`` (evaluates ``priors/triage.yaml`` and ``priors/advice.yaml`` for one patient
or a batch), ``explain`` (why a posterior is what it is, what-ifs, most probable
explanation, conflict), ``uncertainty`` (how the answer moves with the priors' ranges),
``interview`` (question by question) and ``validation`` (vignettes, Wells calibration,
simulated presenters). It may import the engine and everything below it.
"""
