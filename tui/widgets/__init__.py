"""The app's widgets: the chat column and the Schema, Preview and Quality tabs."""
