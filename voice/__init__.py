"""Voice cloning: enrol a speaker from a short sample, convert speech and speak text in that voice."""
