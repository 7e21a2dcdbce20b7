from django.core.files.base import ContentFile

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e2a7d4a60000000049454e44ae426082"
)


def test_clinic_pages_show_the_clinics_logo_and_colour(clinic, staff_client):
    clinic.primary_color = "#0a7d5a"
    clinic.logo.save("alpha.png", ContentFile(PNG), save=True)
    try:
        page = staff_client.get("/patients/").content.decode()
        assert "#0a7d5a" in page
        assert clinic.logo.url in page
        logo = staff_client.get(clinic.logo.url)
        assert logo.status_code == 200
        assert b"".join(logo.streaming_content) == PNG
    finally:
        clinic.logo.delete(save=False)
