"""Jobs: notebooks run as tracked runs (papermill), sweeps, reproduce and retrain, CI."""
