"""The file MLflow logs as the text generator's model code ("models from code": no pickling)."""

import mlflow.models

from labelops.textgen.pyfunc import TextGeneratorModel

mlflow.models.set_model(TextGeneratorModel())
