"""Training jobs run by the app (off unless TP_TRAINING=true): an uploaded table, `tp train` in its own
process, one job at a time, its progress and log read from files the job writes."""
