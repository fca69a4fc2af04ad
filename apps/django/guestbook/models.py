from decimal import Decimal

from django.db import models


class Entry(models.Model):
    content = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    approved = models.BooleanField(default=True)
    rating = models.DecimalField(max_digits=4, decimal_places=1, default=Decimal("4.5"))

    class Meta:
        ordering = ["created", "id"]
        verbose_name_plural = "entries"

    def __str__(self):
        return self.content
