"""In the notebook: the %%track magic and its cell analysis, widgets and the live plot."""
