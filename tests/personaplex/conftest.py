from tests.support.personaplex.fixtures import tiny_personaplex

__all__ = ["tiny_personaplex"]
