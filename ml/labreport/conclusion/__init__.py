"""The conclusion model: a small Keras text classifier that reads a report's profile (each
indicator's direction and grade, the patterns found, and the jieba medical words of the
findings) and predicts the overall conclusion class (knowledge.LEVELS). Trained on
generated reports labelled by the rule engine (engine.rule_class). See docs/labreport.md."""
