"""Publishing: model cards, pushing runs and variants to the Hub, building Spaces."""
