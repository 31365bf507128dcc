"""Training data: rendering (FluidSynth, music21), recorded and procedural sources, the corpus
builder, manifests, bring-your-own loaders and the torch dataset."""
