"""SEFlow's training side: data pools, degradations, the recipe, checkpoint averaging and the
per-point evaluation driver. Inference (model, front end, streaming, adapter) never imports it."""
