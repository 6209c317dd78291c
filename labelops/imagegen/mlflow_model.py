"""The file MLflow logs as the conditional GAN's model code ("models from code": no pickling)."""

import mlflow.models

from labelops.imagegen.pyfunc import ImageGanModel

mlflow.models.set_model(ImageGanModel())
