"""The option groups of the demo menu (`catalog/demo_menu.py`) that `manage.py seed`
creates, read by `catalog.options.options_seed`. Products are named by SKU."""

# Choices on the dishes people customise most. Each group is created once (by name) with
# its options (by slug) and attached to the listed dishes; staff changes survive re-seeding.
# An option is (slug, name, price delta, stock or None for unlimited, English name); `name`
# is Indonesian (the text of record, catalog/i18n.py), `name_en` English.
OPTION_GROUPS = [
    {
        "name": "Tingkat pedas",
        "name_en": "Spice level",
        "min_choices": 1,
        "max_choices": 1,
        "position": 10,
        "options": [
            ("tidak-pedas", "Tidak pedas", 0, None, "Not spicy"),
            ("pedas-sedang", "Pedas sedang", 0, None, "Medium spicy"),
            ("pedas", "Pedas", 0, None, "Spicy"),
            ("pedas-level-3", "Pedas level 3", 2_000, None, "Extra spicy (level 3)"),
        ],
        "products": ["RIC-001", "RIC-004", "NOO-001", "NOO-002"],
    },
    {
        "name": "Tambahan",
        "name_en": "Extras",
        "min_choices": 0,
        "max_choices": 3,
        "position": 20,
        "options": [
            ("extra-telur", "Extra telur", 5_000, None, "Extra egg"),
            ("extra-kerupuk", "Extra kerupuk", 3_000, None, "Extra crackers"),
            ("extra-sate-ayam", "Sate ayam (3 tusuk)", 9_000, 20, "Chicken satay (3 skewers)"),
        ],
        "products": ["RIC-001", "RIC-002", "RIC-004", "NOO-001"],
    },
]
