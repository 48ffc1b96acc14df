"""Creates the authors that books/sample_data/books.csv refers to by name, so a
fresh demo import of that file parses without errors."""

from django.db import migrations

SAMPLE_AUTHORS = (
    "Arthur Conan Doyle",
    "Bram Stoker",
    "Charles Dickens",
    "Charlotte Brontë",
    "Emily Brontë",
    "F. Scott Fitzgerald",
    "Franz Kafka",
    "Fyodor Dostoevsky",
    "George Eliot",
    "Gustave Flaubert",
    "H. G. Wells",
    "Herman Melville",
    "Jane Austen",
    "Joseph Conrad",
    "Leo Tolstoy",
    "Mark Twain",
    "Mary Shelley",
    "Oscar Wilde",
    "Virginia Woolf",
)


def create_authors(apps, schema_editor):
    Author = apps.get_model("books", "Author")
    db = schema_editor.connection.alias
    for name in SAMPLE_AUTHORS:
        Author.objects.using(db).get_or_create(name=name)


def delete_authors(apps, schema_editor):
    # Authors that books still point to are kept (Book.author is PROTECT).
    Author = apps.get_model("books", "Author")
    db = schema_editor.connection.alias
    Author.objects.using(db).filter(name__in=SAMPLE_AUTHORS, books__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_authors, delete_authors),
    ]
