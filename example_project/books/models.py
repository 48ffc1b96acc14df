"""The data the example imports and exports: books and their authors."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    isbn = models.CharField("ISBN", max_length=13, unique=True)
    title = models.CharField(max_length=255)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="books")
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField()
    pages = models.PositiveIntegerField()
    in_stock = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ("title", "isbn")

    def __str__(self) -> str:
        return f"{self.title} ({self.author})"
