"""The ``simcse-st`` command line (installed as ``simcse_st.cli``)."""
