from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    added = models.DateTimeField()

    class Meta:
        app_label = "catalogue"
        ordering = ["id"]
