"""The smart-car pilot's models (PILOT.md §5) and the accident-risk REST API.

This package is self-contained on purpose: it imports nothing else from bigdata_admin, only the
standard library and its model libraries (numpy, Keras 3, scikit-learn, pyspark, FastAPI), each
imported where it is used. Role `gpu_worker` copies the package onto the GPU worker as
`smartcar_ml`, where `python -m smartcar_ml train|serve|smoke` runs it.
"""
