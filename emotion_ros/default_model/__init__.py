"""The default `tiny` checkpoint's build: the pretrained knowledge it starts from, the transparent
teacher it is fitted to (`affect`), its training windows (`cue_windows`, `word_windows`), the
wording of its explanations (`explanations`), and the builder that puts them together."""
