"""Reading recipients from pasted text, CSV files and API lists."""
