"""The content library: sources, articles, categories, keywords and moderation.

The core imports none of crawlers, recommender or ads; work it hands upward is queued by task name.
"""
