"""The live installation behind ``meterkast run``: runner, persistence, and the control surface the web app uses."""
