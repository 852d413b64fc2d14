"""Supervision cards (红黄绿牌督办) for every agreement and project: the rules, the judge that
publishes a change of card, and the API and tables that read them."""
