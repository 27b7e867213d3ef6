from django.db import migrations, models


class Migration(migrations.Migration):
    """A second migration: SQLite rebuilds the table to add the column."""

    dependencies = [("smoke", "0001_initial")]
    operations = [
        migrations.AddField(model_name="book", name="pages", field=models.IntegerField(default=0)),
        migrations.AlterField(model_name="book", name="title", field=models.CharField(max_length=200, db_index=True)),
    ]
