"""The one SQLAlchemy MetaData every table module registers its tables on.

Its own module, importing nothing of ours: table modules (store.designs, runs.tables) import
it, and store.db imports the table modules, so the imports form no circle.
"""

import sqlalchemy as sa

metadata = sa.MetaData()
