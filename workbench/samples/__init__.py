"""The bundled demo data's seeded generators: the sample corpus with its cloze suite, and the fine-tuning demo sets.

Kept out of the engine (`core`): they make data, they do not train or probe. `python -m workbench.samples.corpus`
and `python -m workbench.samples.tasks` regenerate the files in resources/.
"""
